import type { ManagedSocket } from '../sockets/managed-socket.js';
import { ZeroMqSocketEventType, type ZeroMqSocketEvent } from '../../zeromq.events.js';
import type { EndpointDiscoveryOptions } from '../../discovery/endpoint-discovery.options.js';
import type { ZeroMqDiscoveryMetrics } from '../../zeromq.metrics.js';
import { followSocketPeers, type PeerDiscovery } from './peer-discovery.js';

/**
 * Every PeerDiscovery of one server or client, by the sockets they serve: started together,
 * asked to resolve again when one of those sockets loses a peer, closed together.
 */
export class DiscoveryRegistry {
  private readonly all: PeerDiscovery[] = [];
  private readonly bySocket = new Map<string, PeerDiscovery>();

  /** A registry following the DNS endpoints of each of `sockets` (connect and disconnect). */
  static following(sockets: readonly ManagedSocket[], options: EndpointDiscoveryOptions | undefined): DiscoveryRegistry {
    const registry = new DiscoveryRegistry();
    for (const managed of sockets) {
      const discovery = followSocketPeers(managed, options);
      if (discovery !== undefined) {
        registry.add(discovery, managed.name);
      }
    }
    return registry;
  }

  get isEmpty(): boolean {
    return this.all.length === 0;
  }

  add(discovery: PeerDiscovery, ...socketNames: string[]): void {
    this.all.push(discovery);
    for (const name of socketNames) {
      this.serve(name, discovery);
    }
  }

  /** Records that `discovery` found the peer of socket `name` (a DEALER opened for one address). */
  serve(name: string, discovery: PeerDiscovery): void {
    this.bySocket.set(name, discovery);
  }

  forget(name: string): void {
    this.bySocket.delete(name);
  }

  /** The first resolution of every name (see EndpointDiscovery.start). */
  async start(): Promise<void> {
    await Promise.all(this.all.map((discovery) => discovery.start()));
  }

  /** A socket lost a peer: the name that listed it is resolved again soon. */
  onSocketEvent(event: ZeroMqSocketEvent): void {
    if (event.type === ZeroMqSocketEventType.DISCONNECT) {
      this.bySocket.get(event.socket)?.refresh();
    }
  }

  metrics(): ZeroMqDiscoveryMetrics | undefined {
    if (this.isEmpty) {
      return undefined;
    }
    return {
      resolutionFailures: this.all.reduce((sum, discovery) => sum + discovery.resolutionFailures, 0),
      peers: this.all.reduce((sum, discovery) => sum + discovery.peers, 0),
    };
  }

  close(): void {
    for (const discovery of this.all) {
      discovery.close();
    }
  }
}
