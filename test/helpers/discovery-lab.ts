import { AppProcess, type OutputLine } from '../../scripts/lib/app-process.js';
import type { TestDnsServer } from './dns-server.js';

/** The SRV name the producers follow in the discovery tests, as Kubernetes would name it. */
export const SRV_NAME = '_zmq._tcp.orders-worker.orders.svc.cluster.local';
export const SRV_ENDPOINT = `tcp+srv://${SRV_NAME}`;

const ACK_WORKER = 'dist/test/fixtures/ack-worker.js';

/** A worker process bound on its own loopback address, as a pod on its own IP. */
export interface LabWorker {
  name: string;
  ip: string;
  port: number;
  credit: number;
  process: AppProcess;
}

export const isHandled = (line: OutputLine) => line.message.startsWith('handled ');
export const seqOf = (line: OutputLine) => Number(line.message.split(' ')[1]);

/** Starts the ack-worker fixture (dealer-router, prints `handled <seq> <attempt>`) on `ip`, port chosen by the OS. */
export async function startAckWorker(name: string, ip: string, credit: number, workMs: number): Promise<LabWorker> {
  const child = new AppProcess(name, process.execPath, [ACK_WORKER], {
    env: { ACK_WORKER_ENDPOINT: `tcp://${ip}:*`, ACK_WORKER_CREDIT: String(credit), ACK_WORKER_WORK_MS: String(workMs) },
  });
  try {
    const ready = await child.waitFor((line) => line.message.startsWith('ready '), 20_000, 'the ready line');
    return { name, ip, port: Number(/:(\d+)$/.exec(ready.message)![1]), credit, process: child };
  } catch (error) {
    await child.kill();
    throw error;
  }
}

/**
 * Publishes `peers` as the SRV records of SRV_NAME, each target with its A record, as a headless
 * Service lists its ready pods.
 */
export function publishPeers(dns: TestDnsServer, peers: ReadonlyArray<{ ip: string; port: number }>): void {
  for (const { ip } of peers) {
    dns.setA(targetName(ip), [ip]);
  }
  dns.setSrv(
    SRV_NAME,
    peers.map(({ ip, port }) => ({ target: targetName(ip), port })),
  );
}

/** The client's socket name for a discovered DEALER peer (route `default`). */
export function peerSocket(peer: { ip: string; port: number }): string {
  return `default@${peer.ip}:${peer.port}`;
}

function targetName(ip: string): string {
  return `${ip.replaceAll('.', '-')}.orders-worker.orders.svc.cluster.local`;
}

/** Something with the ZeroMqClient's `emit()`. */
interface Emits {
  emit(pattern: string, data: unknown): { subscribe(observer: { complete(): void; error(error: unknown): void }): unknown };
}

/**
 * Emits `jobs` events `{ seq }` 0 … total-1 from `window` lanes, but only up to an allowance the
 * test raises step by step, so that work is in flight at each step of a scenario. Counts what
 * settled and what failed.
 */
export class PacedEmitter {
  emitted = 0;
  settled = 0;
  readonly failures: unknown[] = [];
  private allowance = 0;
  private blocked: Array<() => void> = [];
  private watchers: Array<{ count: number; resolve: () => void }> = [];
  readonly finished: Promise<void>;

  constructor(
    private readonly client: Emits,
    readonly total: number,
    window: number,
  ) {
    this.finished = Promise.all(Array.from({ length: window }, () => this.lane())).then(() => undefined);
  }

  /** Lets `count` more messages go (all that are left at most). */
  allow(count: number): void {
    this.allowance = Math.min(this.total, this.allowance + count);
    for (const wake of this.blocked.splice(0)) {
      wake();
    }
  }

  /**
   * Resolves once `count` emits have settled (acked or failed), or every emit allowed so far (more
   * cannot settle: a fast run may have settled the whole allowance already); rejects after `ms`.
   */
  settledAtLeast(wanted: number, ms: number): Promise<void> {
    const count = Math.min(wanted, this.allowance);
    const reached = new Promise<void>((resolve) => (this.settled >= count ? resolve() : this.watchers.push({ count, resolve })));
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`${count} emits did not settle within ${ms} ms (settled ${this.settled}, emitted ${this.emitted})`)),
        ms,
      );
    });
    return Promise.race([reached, late]).finally(() => clearTimeout(timer));
  }

  private async lane(): Promise<void> {
    while (this.emitted < this.total) {
      if (this.emitted >= this.allowance) {
        await new Promise<void>((resolve) => this.blocked.push(resolve));
        continue;
      }
      const seq = this.emitted++;
      await new Promise<void>((resolve) =>
        this.client.emit('jobs', { seq }).subscribe({
          complete: resolve,
          error: (error) => {
            this.failures.push(error);
            resolve();
          },
        }),
      );
      this.settled++;
      this.watchers = this.watchers.filter((watcher) => (this.settled >= watcher.count ? void watcher.resolve() : true));
    }
  }
}
