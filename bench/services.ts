import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import getPort from 'get-port';

export type ServiceName = 'redis' | 'nats';

const LOOPBACK = '127.0.0.1';
const PROBE_TIMEOUT_MS = 500;
const START_TIMEOUT_MS = 5_000;
const STOP_TIMEOUT_MS = 3_000;

interface ServiceSpec {
  defaultPort: number;
  scheme: string;
  binary: string;
  /** Arguments that make the server listen on loopback only, keeping nothing on disk. */
  args(port: number): string[];
}

const SPECS: Record<ServiceName, ServiceSpec> = {
  redis: {
    defaultPort: 6379,
    scheme: 'redis',
    binary: 'redis-server',
    args: (port) => ['--bind', LOOPBACK, '--port', String(port), '--save', '', '--appendonly', 'no', '--dir', tmpdir()],
  },
  nats: {
    defaultPort: 4222,
    scheme: 'nats',
    binary: 'nats-server',
    args: (port) => ['--addr', LOOPBACK, '--port', String(port)],
  },
};

/** A broker a row can use, or why the row is skipped. */
export type ServiceLease = { url: string; origin: string } | { skipped: string };

/** True when something accepts TCP connections on 127.0.0.1:port within the probe timeout. */
export function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: LOOPBACK, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(PROBE_TIMEOUT_MS, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

function findBinary(name: string): string | undefined {
  // Debian puts nats-server in /usr/sbin, which a non-root PATH may lack.
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin'];
  for (const dir of dirs.filter(Boolean)) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * Finds the brokers of the Redis and NATS rows: a server already answering on its default
 * loopback port is used as it is; otherwise, when `startOwn` and the binary is installed, one is
 * started on a free loopback port and stopped by `stopAll()`; otherwise the row is skipped.
 */
export class Services {
  private readonly started: ChildProcess[] = [];
  private readonly leases = new Map<ServiceName, Promise<ServiceLease>>();

  constructor(private readonly startOwn: boolean) {}

  acquire(name: ServiceName): Promise<ServiceLease> {
    let lease = this.leases.get(name);
    if (lease === undefined) {
      lease = this.find(name);
      this.leases.set(name, lease);
    }
    return lease;
  }

  async stopAll(): Promise<void> {
    await Promise.all(
      this.started.splice(0).map(async (child) => {
        if (child.exitCode !== null || child.signalCode !== null) {
          return;
        }
        const exited = once(child);
        child.kill('SIGTERM');
        if (!(await Promise.race([exited.then(() => true), sleep(STOP_TIMEOUT_MS).then(() => false)]))) {
          child.kill('SIGKILL');
        }
      }),
    );
  }

  private async find(name: ServiceName): Promise<ServiceLease> {
    const spec = SPECS[name];
    if (await answers(spec.defaultPort)) {
      return { url: `${spec.scheme}://${LOOPBACK}:${spec.defaultPort}`, origin: `already running on ${LOOPBACK}:${spec.defaultPort}` };
    }
    const skipped = `skipped (no server on ${LOOPBACK}:${spec.defaultPort})`;
    const binary = this.startOwn ? findBinary(spec.binary) : undefined;
    if (binary === undefined) {
      return { skipped };
    }
    const port = await getPort({ host: LOOPBACK });
    const child = spawn(binary, spec.args(port), { stdio: 'ignore' });
    this.started.push(child);
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (Date.now() < deadline && child.exitCode === null) {
      if (await answers(port)) {
        return { url: `${spec.scheme}://${LOOPBACK}:${port}`, origin: `${spec.binary} started by the bench on ${LOOPBACK}:${port}` };
      }
      await sleep(100);
    }
    return { skipped: `${skipped}; ${spec.binary} did not start within ${START_TIMEOUT_MS} ms` };
  }
}

function once(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => child.once('exit', () => resolve()));
}
