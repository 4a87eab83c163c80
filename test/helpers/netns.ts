import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

/**
 * A network namespace joined to this one by a veth pair: a test host of our own at `address`
 * (inside the namespace), reached from here through `hostDevice`. Removed by `remove()`, which
 * the caller must run even when the test fails.
 */
export interface TestHost {
  name: string;
  /** The namespace's own address. */
  address: string;
  /** This side's end of the veth pair (take it down to cut the link). */
  hostDevice: string;
  setLink(up: boolean): void;
  remove(): void;
}

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });

/** Whether this process may create network namespaces (root with iproute2), and why not. */
export function netnsUnavailable(): string | undefined {
  const probe = `nzmq-probe-${randomBytes(3).toString('hex')}`;
  try {
    ip('netns', 'add', probe);
    ip('netns', 'del', probe);
    return undefined;
  } catch (error) {
    return `cannot create network namespaces here (${(error as Error).message.split('\n')[0]})`;
  }
}

/** Whether this namespace has a route to `address`. */
function routes(address: string): boolean {
  try {
    ip('route', 'get', address);
    return true;
  } catch {
    return false;
  }
}

let subnet = 0;

/** Creates the namespace, the veth pair and a /30 between them (10.231.<n>.0/30, ours alone). */
export function createTestHost(): TestHost {
  const id = randomBytes(3).toString('hex');
  const name = `nzmq-${id}`;
  const hostDevice = `vh${id}`;
  const innerDevice = `vn${id}`;
  const third = (process.pid + subnet++) % 250;
  const hostAddress = `10.231.${third}.1`;
  const address = `10.231.${third}.2`;
  const subnetRoute = [`10.231.${third}.0/30`, 'metric', '1000'];
  const remove = () => {
    try {
      ip('netns', 'del', name);
    } catch {
      // Already gone.
    }
    try {
      ip('route', 'del', 'unreachable', ...subnetRoute);
    } catch {
      // Not added.
    }
    try {
      ip('link', 'del', hostDevice);
    } catch {
      // Removed with the namespace.
    }
  };
  try {
    ip('netns', 'add', name);
    ip('link', 'add', hostDevice, 'type', 'veth', 'peer', 'name', innerDevice);
    ip('link', 'set', innerDevice, 'netns', name);
    ip('addr', 'add', `${hostAddress}/30`, 'dev', hostDevice);
    ip('link', 'set', hostDevice, 'up');
    // While the link is down its own route is gone: without this one the address would be sent to
    // the default route, out of the machine (where something may even answer). Unreachable instead.
    ip('route', 'replace', 'unreachable', ...subnetRoute);
    ip('-n', name, 'addr', 'add', `${address}/30`, 'dev', innerDevice);
    ip('-n', name, 'link', 'set', innerDevice, 'up');
    ip('-n', name, 'link', 'set', 'lo', 'up');
  } catch (error) {
    remove();
    throw error;
  }
  return {
    name,
    address,
    hostDevice,
    setLink: (up) => {
      ip('link', 'set', hostDevice, up ? 'up' : 'down');
      if (!up && routes(address)) {
        throw new Error(`${address} is still routed with ${hostDevice} down: the partition would reach another host`);
      }
    },
    remove,
  };
}
