import type { ManagedSocket } from '../sockets/managed-socket.js';
import { isDnsEndpoint } from '../options/dns-endpoint.js';
import { EndpointDiscovery, type EndpointDiscoveryListener } from './endpoint-discovery.js';
import type { EndpointDiscoveryOptions } from '../../discovery/endpoint-discovery.options.js';

/**
 * The peers that the DNS endpoints of one socket (or one DEALER route) list, followed together
 * and told to one listener. A socket may name several DNS endpoints; each is resolved on its own,
 * and an address several of them list is one peer (connected once).
 */
export class PeerDiscovery {
  private readonly discoveries: EndpointDiscovery[];
  /** How many of the names list each address: a peer two names share is added once, removed with the last. */
  private readonly listedBy = new Map<string, number>();

  constructor(endpoints: readonly string[], listener: EndpointDiscoveryListener, options: EndpointDiscoveryOptions = {}) {
    const shared: EndpointDiscoveryListener = {
      onAdded: (address) => {
        const count = this.listedBy.get(address) ?? 0;
        this.listedBy.set(address, count + 1);
        if (count === 0) {
          listener.onAdded(address);
        }
      },
      onRemoved: (address) => {
        const count = this.listedBy.get(address) ?? 0;
        if (count <= 1) {
          this.listedBy.delete(address);
          listener.onRemoved(address);
        } else {
          this.listedBy.set(address, count - 1);
        }
      },
    };
    this.discoveries = endpoints.map((endpoint) => new EndpointDiscovery(endpoint, shared, options));
  }

  /** The DNS endpoints among `addresses`. */
  static endpointsIn(addresses: ReadonlyArray<{ address: string }>): string[] {
    return addresses.map(({ address }) => address).filter(isDnsEndpoint);
  }

  /** Resolves every name once (connecting to what they list) and keeps following them. */
  async start(): Promise<void> {
    await Promise.all(this.discoveries.map((discovery) => discovery.start()));
  }

  /** A peer went away: ask DNS again soon, since it may have left for good. */
  refresh(): void {
    for (const discovery of this.discoveries) {
      void discovery.refresh();
    }
  }

  get resolutionFailures(): number {
    return this.discoveries.reduce((sum, discovery) => sum + discovery.resolutionFailures, 0);
  }

  /** Distinct addresses the names list now. */
  get peers(): number {
    return this.listedBy.size;
  }

  close(): void {
    for (const discovery of this.discoveries) {
      discovery.close();
    }
  }
}

/**
 * Follows the DNS endpoints of one socket (PUSH, PULL, ROUTER, a DEALER without a socket per
 * peer): connects it to each address that appears, disconnects it from each that goes.
 * Undefined when the socket names no DNS endpoint.
 */
export function followSocketPeers(managed: ManagedSocket, options: EndpointDiscoveryOptions | undefined): PeerDiscovery | undefined {
  const endpoints = PeerDiscovery.endpointsIn(managed.plan.endpoints);
  if (endpoints.length === 0) {
    return undefined;
  }
  return new PeerDiscovery(
    endpoints,
    { onAdded: (address) => managed.connectPeer(address), onRemoved: (address) => managed.disconnectPeer(address) },
    options,
  );
}
