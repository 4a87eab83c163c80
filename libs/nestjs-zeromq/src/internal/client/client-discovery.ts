import type * as zmq from 'zeromq';
import type { ZeroMqDiscoveryMetrics } from '../../zeromq.metrics.js';
import { DiscoveryRegistry } from '../discovery/discovery-registry.js';
import { PeerDiscovery } from '../discovery/peer-discovery.js';
import { ZeroMqSocketEventType, type ZeroMqSocketEvent } from '../../zeromq.events.js';
import type { KindLookup } from '../options/kind-facts.js';
import type { ClientSocketPlan, ResolvedClientOptions } from '../options/plans.js';
import type { ManagedSocket } from '../sockets/managed-socket.js';
import type { SocketGroup } from '../sockets/socket-group.js';
import { LOST_LINK_GRACE } from '../at-least-once/route-tracker.js';
import type { DeliveryTracker } from '../at-least-once/delivery-tracker.js';
import type { Outbox } from './outbox.js';
import type { ClientRoute, RouteTable } from './route-table.js';

/** What the ZeroMqClient gives the code that opens and closes its links (ClientRoutes, and through it ClientDiscovery). */
export interface ClientLinksHost {
  readonly config: ResolvedClientOptions;
  readonly sockets: SocketGroup<zmq.Socket>;
  /** What each socket kind carries, and whether it opens a socket per peer. */
  readonly kinds: KindLookup;
  /** A socket for `plan`, made by its kind with the client's socket options (a DEALER for a discovered peer). */
  createSocket(plan: ClientSocketPlan): zmq.Socket;
  /** The outbox of an opened socket (made by its kind with its route's tracker, reading its socket if it has replies). */
  outboxFor(managed: ManagedSocket<zmq.Socket, ClientSocketPlan>, tracker?: DeliveryTracker): Outbox;
  /** Requests waiting for replies on a socket. */
  requestsOn(name: string): number;
  /** Fails the requests still waiting on a socket whose peer is gone (those opened up to `upTo`, a `requestMark`). */
  failRequests(name: string, detail: string, upTo?: number): void;
}

/** What ClientDiscovery needs from the ClientRoutes that own it (besides the client's ClientLinksHost). */
export interface ClientDiscoveryOwner {
  /** The client's current route table. */
  table(): RouteTable<Outbox, ClientRoute>;
  /** Greets the worker behind an at-least-once outbox, which answers with its credit. */
  sayHello(name: string): void;
}

/** A DEALER opened for one discovered peer of a route. */
interface PeerLink {
  readonly route: ClientRoute;
  readonly outbox: Outbox;
  /** Set while the peer, gone from DNS, finishes what it holds: polled until then or `deadline`. */
  retiring?: NodeJS.Timeout;
  deadline?: number;
  /** When it is closed whatever it still holds. */
  giveUpAt?: number;
}

/** How often a retiring link is checked for work still owed to or by its peer. */
const RETIRE_CHECK_INTERVAL = 100;

/**
 * DNS discovery of a ZeroMqClient. Sockets shared by all of a route's peers (PUSH, the dead-letter
 * PUSH) connect to and disconnect from the addresses their names list. Routes with a socket per
 * peer (DEALER) get a DEALER outbox per address: it joins the route table (and the at-least-once
 * tracker) when the address appears. When it disappears, the outbox leaves the rotation at once and
 * is closed once nothing is owed on it (deliveries acked, requests answered, queue sent), shortly
 * after its peer disconnects, or after `ackTimeout` (or `requestTimeout` if longer); deliveries
 * still in flight then go to the other workers. A socket that loses a peer makes its name resolve again.
 */
export class ClientDiscovery {
  private readonly registry: DiscoveryRegistry;
  private readonly links = new Map<string, PeerLink>();
  private readonly retireTimeout: number;
  private closed = false;

  constructor(
    private readonly host: ClientLinksHost,
    private readonly owner: ClientDiscoveryOwner,
    opened: ReadonlyArray<ManagedSocket<zmq.Socket, ClientSocketPlan>>,
    routes: readonly ClientRoute[],
  ) {
    const options = host.config.discovery;
    this.retireTimeout = Math.max(host.config.ackTimeout, host.config.requestTimeout);
    this.registry = DiscoveryRegistry.following(opened, options);
    for (const route of routes) {
      const endpoints = PeerDiscovery.endpointsIn(route.plan.endpoints);
      if (endpoints.length === 0 || !host.kinds(route.plan.kind).socketPerEndpoint) {
        continue;
      }
      const discovery: PeerDiscovery = new PeerDiscovery(
        endpoints,
        { onAdded: (address) => this.added(route, address, discovery), onRemoved: (address) => this.removed(route, address) },
        options,
      );
      this.registry.add(discovery);
    }
  }

  get isEmpty(): boolean {
    return this.registry.isEmpty;
  }

  /** The first resolution of every name: the sockets are connected to what they list. */
  start(): Promise<void> {
    return this.registry.start();
  }

  metrics(): ZeroMqDiscoveryMetrics | undefined {
    return this.registry.metrics();
  }

  onSocketEvent(event: ZeroMqSocketEvent): void {
    this.registry.onSocketEvent(event);
    const link = this.links.get(event.socket);
    if (event.type === ZeroMqSocketEventType.DISCONNECT && link?.retiring !== undefined) {
      // Its last acks and replies may still wait in the socket (the monitor reports the
      // disconnect apart from the data): read them for a moment before closing it.
      link.deadline = Math.min(link.deadline!, Date.now() + LOST_LINK_GRACE);
    }
  }

  /**
   * Stops following the names; no socket is added or removed after it. Returns the outboxes still
   * retiring, for the client to drain and close with the others.
   */
  close(): Outbox[] {
    this.closed = true;
    this.registry.close();
    const retiring: Outbox[] = [];
    for (const link of this.links.values()) {
      if (link.retiring !== undefined) {
        clearInterval(link.retiring);
        retiring.push(link.outbox);
      }
    }
    this.links.clear();
    return retiring;
  }

  private added(route: ClientRoute, address: string, discovery: PeerDiscovery): void {
    const name = linkName(route, address);
    const existing = this.links.get(name);
    if (existing !== undefined) {
      if (existing.retiring !== undefined) {
        // Back in DNS before it was closed (a readiness flap): back in rotation.
        clearInterval(existing.retiring);
        existing.retiring = undefined;
        existing.deadline = undefined;
        route.tracker?.addLink(name);
        this.owner.table().addLink(route, existing.outbox);
        this.owner.sayHello(name);
      }
      return;
    }
    const plan: ClientSocketPlan = { ...route.plan, name, endpoints: [{ address, bind: false }], route: route.name };
    const managed = this.host.sockets.add(plan, this.host.createSocket(plan));
    const outbox = this.host.outboxFor(managed, route.tracker);
    route.tracker?.addLink(name);
    this.links.set(name, { route, outbox });
    this.registry.serve(name, discovery);
    this.owner.table().addLink(route, outbox);
    this.owner.sayHello(name);
  }

  private removed(route: ClientRoute, address: string): void {
    const name = linkName(route, address);
    const link = this.links.get(name);
    if (link === undefined || link.retiring !== undefined) {
      return;
    }
    this.owner.table().removeLink(route, name);
    route.tracker?.retireLink(name);
    link.giveUpAt = Date.now() + this.retireTimeout;
    link.deadline = link.giveUpAt;
    link.retiring = setInterval(() => this.checkRetiring(name), RETIRE_CHECK_INTERVAL);
    link.retiring.unref();
    this.checkRetiring(name);
  }

  private checkRetiring(name: string): void {
    const link = this.links.get(name);
    if (link === undefined || this.closed) {
      return;
    }
    const owed = (link.route.tracker?.unackedOn(name) ?? 0) + this.host.requestsOn(name) + link.outbox.load;
    if (owed === 0) {
      this.finish(name, 'its server left DNS');
    } else if (Date.now() >= link.deadline! && (!link.outbox.managed.socket.readable || Date.now() >= link.giveUpAt!)) {
      // Past its deadline with nothing left unread in the socket (acks are read first), or given up on.
      this.finish(name, `its server left DNS (or disconnected) still owing ${owed} answer(s)`);
    }
  }

  /** Closes a retired link: what it still held goes elsewhere (deliveries) or fails (requests, queued emits). */
  private finish(name: string, detail: string): void {
    const link = this.links.get(name);
    if (link === undefined) {
      return;
    }
    clearInterval(link.retiring);
    this.links.delete(name);
    this.registry.forget(name);
    link.route.tracker?.removeLink(name);
    this.host.failRequests(name, detail);
    void link.outbox.drain(0);
    this.host.sockets.remove(name);
  }
}

/** `default@10.1.2.3:5557`: the route's name and the peer's address. */
function linkName(route: ClientRoute, address: string): string {
  return `${route.name}@${address.replace(/^tcp:\/\//, '')}`;
}
