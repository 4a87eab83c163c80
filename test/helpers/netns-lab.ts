import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

/** A host of a lab: a network namespace with one veth interface per link. */
export interface LabHost {
  /** Name of the network namespace (`ip netns exec <netns> ...`). */
  netns: string;
  /** This host's address on each link, by the name of the host at the other end. */
  addressTo: Record<string, string>;
}

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: 'pipe', timeout: 10_000 });
}

/**
 * Network namespaces joined by point-to-point veth links, each link its own /24 in 10.201.N.0:
 * the first host of a link gets .1, the second .2. These addresses exist only inside the
 * namespaces. `remove()` deletes the namespaces (and with them the links); call it even when the
 * test failed, after the processes inside have stopped.
 */
export class NetnsLab {
  readonly hosts: Record<string, LabHost> = {};
  private readonly prefix = `nzq${randomBytes(3).toString('hex')}`;

  constructor(hostNames: string[], links: Array<[string, string]>) {
    try {
      for (const name of hostNames) {
        const netns = `${this.prefix}-${name}`;
        ip('netns', 'add', netns);
        this.hosts[name] = { netns, addressTo: {} };
        ip('-n', netns, 'link', 'set', 'lo', 'up');
      }
      links.forEach(([a, b], index) => this.link(a, b, index + 1));
    } catch (error) {
      this.remove();
      throw error;
    }
  }

  remove(): void {
    for (const host of Object.values(this.hosts)) {
      try {
        ip('netns', 'del', host.netns);
      } catch {
        // Already gone.
      }
    }
  }

  private link(a: string, b: string, subnet: number): void {
    // Interface names are limited to 15 characters.
    const [ifA, ifB] = [`${this.prefix}l${subnet}a`, `${this.prefix}l${subnet}b`];
    const [hostA, hostB] = [this.hosts[a], this.hosts[b]];
    ip('link', 'add', ifA, 'netns', hostA.netns, 'type', 'veth', 'peer', 'name', ifB, 'netns', hostB.netns);
    for (const [host, iface, peer, suffix] of [
      [hostA, ifA, b, 1],
      [hostB, ifB, a, 2],
    ] as const) {
      const address = `10.201.${subnet}.${suffix}`;
      ip('-n', host.netns, 'addr', 'add', `${address}/24`, 'dev', iface);
      ip('-n', host.netns, 'link', 'set', iface, 'up');
      host.addressTo[peer] = address;
    }
  }
}
