import type * as zmq from 'zeromq';
import type { ZeroMqDiscoveryMetrics } from '../../zeromq.metrics.js';
import { ZeroMqRequestError, ZeroMqSendError } from '../../zeromq.errors.js';
import type { ZeroMqDeliveryMode } from '../../zeromq.options.js';
import { ZeroMqSocketEventType, type ZeroMqDeadLetter, type ZeroMqSocketEvent } from '../../zeromq.events.js';
import type { ClientSocketPlan } from '../options/plans.js';
import type { ManagedSocket } from '../sockets/managed-socket.js';
import type { RateLimitedLog } from '../util/rate-limited-log.js';
import { ClientDiscovery, type ClientLinksHost } from './client-discovery.js';
import { LOST_LINK_GRACE } from '../at-least-once/route-tracker.js';
import type { DeliveryTracker } from '../at-least-once/delivery-tracker.js';
import { ClientDeliveries, type DeliveryTotals } from './client-deliveries.js';
import { emptyOutboxTotals, type Outbox, type OutboxTotals, type ReplyCarrier } from './outbox.js';
import { RouteTable, type ClientRoute } from './route-table.js';
import type { ZeroMqOutboxMetrics } from '../../zeromq.metrics.js';
import { afterUnreadIsRead } from '../util/unread-grace.js';
import { hashText, rendezvousWinner } from '../at-least-once/rendezvous.js';

/** Longest a lost server's unread replies are waited for before its requests fail. */
const MAX_REPLY_GRACE = 10 * LOST_LINK_GRACE;

/** What ClientRoutes needs from the ZeroMqClient that owns it. */
export interface ClientRoutesHost extends ClientLinksHost {
  readonly problems: RateLimitedLog;
  /** A message given up on: the client logs it and emits `dead-letter`. */
  deadLettered(letter: ZeroMqDeadLetter): void;
  /** The last request opened so far (PendingRequests.mark). */
  requestMark(): number;
}

/**
 * The client's routes once its sockets are open: which outbox a pattern goes to (the at-least-once
 * trackers and the dead-letter socket are ClientDeliveries'), DNS discovery adding and removing
 * outboxes, a lost server's requests, and the order things stop in on close.
 */
export class ClientRoutes {
  private table = new RouteTable<Outbox, ClientRoute>([]);
  private discovery: ClientDiscovery | undefined;
  private readonly deliveries: ClientDeliveries;
  /** Lost servers whose last replies are still being read before their requests fail. */
  private readonly replyGraces = new Set<NodeJS.Timeout>();

  constructor(private readonly host: ClientRoutesHost) {
    this.deliveries = new ClientDeliveries({
      config: host.config,
      problems: host.problems,
      deadLettered: (letter) => host.deadLettered(letter),
      link: (name) => this.table.link(name),
    });
  }

  /** Opens the durable outboxes before any socket (see ClientDeliveries). */
  openOutboxes(): Promise<void> {
    return this.deliveries.openOutboxes();
  }

  /** Closes the durable outboxes (a connect() that failed after opening them). */
  closeOutboxes(): Promise<void> {
    return this.deliveries.closeOutboxes();
  }

  /** Builds the routes over the opened sockets and resolves their DNS names once. */
  async open(opened: ManagedSocket<zmq.Socket, ClientSocketPlan>[]): Promise<void> {
    const routes: ClientRoute[] = this.host.config.routes.map((plan) => {
      const sockets = opened.filter((managed) => managed.plan.route === plan.name);
      const tracker = this.deliveries.trackerFor(plan, sockets);
      // Created with their route's tracker: a DEALER's acks and credit go to it.
      const links = sockets.map((managed) => this.host.outboxFor(managed, tracker));
      return { name: plan.name, patterns: plan.patterns, plan, links, tracker };
    });
    const deadLetters = opened.find((managed) => managed.plan.route === '');
    this.deliveries.deadLetters = deadLetters === undefined ? undefined : this.host.outboxFor(deadLetters);
    this.table = new RouteTable<Outbox, ClientRoute>(routes);
    const discovery = new ClientDiscovery(this.host, { table: () => this.table, sayHello: (name) => this.sayHello(name) }, opened, routes);
    if (!discovery.isEmpty) {
      // The first resolution: the routes have their peers before the first emit goes out.
      this.discovery = discovery;
      await discovery.start();
    }
  }

  /** The route of `pattern`: the route that lists it, else the default one. */
  routeFor(pattern: string): ClientRoute {
    const route = this.table.routeFor(pattern);
    if (route === undefined) {
      const closed = this.table.routes.length === 0;
      throw new ZeroMqSendError(
        'NO_ROUTE',
        pattern,
        '-',
        [],
        closed ? 'the client is closed' : 'no route lists this pattern and the client has no default endpoints',
      );
    }
    return route;
  }

  /** The route of a request (one whose kind carries replies, with a peer to send to) and the outbox it goes to. */
  requestRoute(pattern: string): { route: ClientRoute; outbox: ReplyCarrier } {
    const route = this.routeFor(pattern);
    if (!this.host.kinds(route.plan.kind).carriesReplies) {
      throw new ZeroMqRequestError(
        'WRONG_SOCKET_KIND',
        pattern,
        route.name,
        `send() needs a socket of kind 'dealer-router'; this one is '${route.plan.kind}' (set kind: 'dealer-router' on the client and server socket or route)`,
      );
    }
    if (route.links.length === 0) {
      throw new ZeroMqRequestError('SEND_TIMEOUT', pattern, route.name, noPeerYet(route));
    }
    // A kind that carries replies creates outboxes that carry them.
    return { route, outbox: this.pick(route).replyCarrier! };
  }

  /**
   * The route of an emit, and its at-least-once tracker unless the record asked for at-most-once
   * (a record may ask for less than its route gives, not more). Without a tracker, a peer is needed now.
   */
  eventRoute(pattern: string, delivery: ZeroMqDeliveryMode | undefined): { route: ClientRoute; tracker: DeliveryTracker | undefined } {
    const route = this.routeFor(pattern);
    const tracker = delivery === 'at-most-once' ? undefined : route.tracker;
    if (delivery === 'at-least-once' && tracker === undefined) {
      throw new ZeroMqSendError(
        'SEND_FAILED',
        pattern,
        route.name,
        [],
        "delivery 'at-least-once' needs a route with delivery: 'at-least-once'",
      );
    }
    if (tracker === undefined && route.links.length === 0) {
      throw new ZeroMqSendError('SEND_TIMEOUT', pattern, route.name, [], noPeerYet(route));
    }
    // At-least-once would wait for a worker's credit that never comes: every worker refused the socket.
    const rejection = tracker === undefined ? undefined : rejectionOf(route);
    if (rejection !== undefined) {
      throw new ZeroMqSendError(
        'PEER_REJECTED',
        pattern,
        route.name,
        route.plan.endpoints.map((e) => e.address),
        rejection,
      );
    }
    return { route, tracker };
  }

  /** The connected outbox of `route` with the least work waiting (queued + unanswered); round-robin among equals. */
  pick(route: ClientRoute): Outbox {
    return this.table.pick(
      route,
      (outbox) => outbox.managed.connected,
      (outbox) => outbox.load + this.host.requestsOn(outbox.name),
    );
  }

  /**
   * The outbox of an at-most-once keyed emit: the connected link of `route` that rendezvous
   * hashing gives the key (one link: that one). While the connected set stays the same a key
   * sticks to one worker; ZeroMQ keeps a connection's messages in order.
   */
  pickKeyed(route: ClientRoute, key: string): Outbox {
    const connected = route.links.filter((outbox) => outbox.managed.connected);
    return rendezvousWinner(key, connected.length > 0 ? connected : route.links, (outbox) => hashText(outbox.name)) ?? this.pick(route);
  }

  links(): Outbox[] {
    return this.table.links();
  }

  /** Greets every at-least-once worker: a handshake may have come before the tracker existed, and inproc has none. */
  greetAll(): void {
    for (const outbox of this.table.links()) {
      this.sayHello(outbox.name);
    }
  }

  /** Socket events: DNS discovery follows connections, a handshake is greeted, a lost server fails what waits on it. */
  onSocketEvent(event: ZeroMqSocketEvent): void {
    this.discovery?.onSocketEvent(event);
    if (event.type === ZeroMqSocketEventType.HANDSHAKE) {
      this.sayHello(event.socket);
    } else if (event.type === ZeroMqSocketEventType.DISCONNECT) {
      this.onDisconnect(event);
    }
  }

  /** The outboxes' and trackers' share of `getMetrics()`. */
  totals(): OutboxTotals & DeliveryTotals & { discovery?: ZeroMqDiscoveryMetrics; outbox?: ZeroMqOutboxMetrics } {
    const totals = emptyOutboxTotals();
    for (const outbox of this.table.links()) {
      outbox.addTo(totals);
    }
    const delivery = this.deliveries.totals(this.table.routes.map((route) => route.tracker));
    const discovery = this.discovery?.metrics();
    return { ...totals, ...delivery, ...(discovery === undefined ? {} : { discovery }) };
  }

  /**
   * Stops discovery, waits for the at-least-once acks, then sends what is queued, all within
   * `remaining()` ms. Resolves with the number of messages not sent or not acked, and the outboxes
   * whose read loops end once the sockets close.
   */
  async close(remaining: () => number): Promise<{ dropped: number; outboxes: Outbox[] }> {
    for (const timer of this.replyGraces) {
      clearTimeout(timer);
    }
    this.replyGraces.clear();
    // No socket is added or removed by DNS from here on; links leaving DNS are drained with the rest.
    const retiring = this.discovery?.close() ?? [];
    this.discovery = undefined;
    const table = this.table;
    const unacked = await Promise.all(table.routes.map((route) => route.tracker?.drain(remaining()) ?? 0));
    const { deadLetters } = this.deliveries;
    const outboxes = [...table.links(), ...retiring, ...(deadLetters ? [deadLetters] : [])];
    this.table = new RouteTable<Outbox, ClientRoute>([]);
    this.deliveries.deadLetters = undefined;
    const unsent = await Promise.all(outboxes.map((outbox) => outbox.drain(remaining())));
    // After the trackers: their last removals and dead letters are written before the store closes.
    await this.deliveries.closeOutboxes();
    return { dropped: [...unsent, ...unacked].reduce((sum, count) => sum + count, 0), outboxes };
  }

  /** Greets the worker behind an at-least-once outbox so that it announces its credit (after every (re)connect). */
  private sayHello(name: string): void {
    const outbox = this.table.link(name)?.replyCarrier;
    if (outbox?.tracker !== undefined) {
      outbox
        .hello(outbox.tracker.producerId)
        .catch((error: unknown) =>
          this.host.problems.warn('hello', `No hello to the worker on "${name}" yet: ${(error as Error).message}`),
        );
    }
  }

  /** A DEALER connected to one server lost it: its requests fail now, its deliveries go elsewhere. */
  private onDisconnect(event: ZeroMqSocketEvent): void {
    const outbox = this.table.link(event.socket);
    const { plan } = outbox?.managed ?? {};
    const carrier = outbox?.replyCarrier;
    if (outbox !== undefined && carrier !== undefined && plan?.endpoints.length === 1 && !plan.endpoints[0].bind) {
      carrier.tracker?.linkLost(outbox.name);
      if (this.host.requestsOn(outbox.name) > 0) {
        this.failRequestsAfterGrace(outbox, `the server at ${event.address} disconnected before the last reply`);
      }
    }
  }

  /**
   * Fails the requests a lost server still owed, once the replies it sent before disconnecting
   * (a draining server answers, then leaves) have been read: after LOST_LINK_GRACE, and for as
   * long as the socket holds unread messages (bounded). Requests sent after the loss are not failed.
   */
  private failRequestsAfterGrace(outbox: Outbox, reason: string): void {
    const upTo = this.host.requestMark();
    const detail = this.host.sockets.withHandshakeFailure(outbox.name, reason);
    const socket = outbox.managed.socket;
    afterUnreadIsRead(
      () => !socket.closed && socket.readable,
      LOST_LINK_GRACE,
      MAX_REPLY_GRACE,
      this.replyGraces,
      () => this.host.failRequests(outbox.name, detail, upTo),
    );
  }
}

/** Why every socket of a route was rejected by its peers, if they all were. */
function rejectionOf(route: ClientRoute): string | undefined {
  // Called for every at-least-once emit: no array per call.
  for (const link of route.links) {
    if (link.managed.rejection === undefined) {
      return undefined;
    }
  }
  const first = route.links[0]?.managed.rejection;
  return first === undefined ? undefined : `${first.address} rejected this socket: ${first.reason}`;
}

/** Why a route that follows DNS names has nowhere to send yet. */
function noPeerYet(route: ClientRoute): string {
  const names = route.plan.endpoints.map((endpoint) => endpoint.address).join(', ');
  return `no peer yet: ${names} resolved to no address (see the discovery option; the resolution is retried every interval)`;
}
