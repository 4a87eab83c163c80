import { Logger } from '@nestjs/common';
import { ClientProxy, type MsPattern, type ReadPacket, type WritePacket } from '@nestjs/microservices';
import { throwError, type Observable } from 'rxjs';
import type * as zmq from 'zeromq';
import { ClientDiscovery, type ClientDiscoveryHost } from './internal/client/client-discovery.js';
import { DealerOutbox } from './internal/client/dealer-outbox.js';
import { trackDeliveries } from './internal/client/delivery-routing.js';
import type { DeliveryTracker } from './internal/client/delivery-tracker.js';
import { EmitResult } from './internal/client/emit-result.js';
import type { Outbox, OutboxHost } from './internal/client/outbox.js';
import { PubSubOutbox } from './internal/client/pub-sub-outbox.js';
import { PendingRequests } from './internal/client/pending-requests.js';
import { RouteTable } from './internal/client/route-table.js';
import { serializedPacket } from './internal/client/serialized-packet.js';
import { socketKind } from './internal/kinds/kinds.js';
import {
  resolveClientOptions,
  type ClientRoutePlan,
  type ClientSocketPlan,
  type ResolvedClientOptions,
} from './internal/options/resolve-options.js';
import { encodeBareRecord, encodeRecord, type EncodedRecord } from './internal/protocol/wire.js';
import type { ManagedSocket } from './internal/sockets/managed-socket.js';
import type { Settle } from './internal/sockets/send-queue.js';
import { clientSocketOptions, SocketGroup } from './internal/sockets/socket-group.js';
import { Counters } from './internal/util/counters.js';
import { Listeners } from './internal/util/listeners.js';
import { RateLimitedLog } from './internal/util/rate-limited-log.js';
import { ZeroMqRequestError, ZeroMqSendError, type ZeroMqSendErrorCode } from './zeromq.errors.js';
import {
  ZeroMqSocketEventType,
  type ZeroMqClientEvents,
  type ZeroMqDeadLetter,
  type ZeroMqSocketEvent,
  type ZeroMqStatus,
} from './zeromq.events.js';
import type { ZeroMqClientMetrics, ZeroMqClientQueueState } from './zeromq.metrics.js';
import type { ZeroMqClientOptions } from './zeromq.options.js';
import { InvalidMessageException } from './internal/client/invalid-message.js';
import { unwrapRecord } from './record-builders/unwrap-record.js';

/** The socket(s) a pattern is sent over: one PUSH socket, or one DEALER per endpoint. */
interface Route {
  name: string;
  patterns: readonly string[];
  plan: ClientRoutePlan;
  links: Outbox[];
  /** At-least-once routes: the messages not acked yet. */
  tracker: DeliveryTracker | undefined;
}

/**
 * NestJS client that sends `emit()` calls over ZeroMQ PUSH sockets, and `send()` requests over
 * DEALER sockets (`kind: 'dealer-router'`).
 *
 * ```ts
 * ClientsModule.register([
 *   { name: 'ORDERS', customClass: ZeroMqClient, options: { endpoints: ['tcp://127.0.0.1:5557'] } },
 * ]);
 * ```
 * It is a thin adapter: each socket is written by its outbox (internal/client), which the
 * socket's kind (internal/kinds) creates; routes pick the outbox a pattern goes to.
 * @publicApi
 */
// Status stays `string` in the base class: a ZeroMqStatus there makes `customClass: ZeroMqClient`
// fail to compile under strictFunctionTypes (TS2322; Nest types customClass as Type<ClientProxy>).
export class ZeroMqClient extends ClientProxy<ZeroMqClientEvents> {
  protected readonly logger = new Logger(ZeroMqClient.name);

  private readonly config: ResolvedClientOptions;
  private readonly listeners = new Listeners(this.logger);
  private readonly sockets: SocketGroup<zmq.Socket>;
  private readonly problems: RateLimitedLog;
  private readonly counters = new Counters(['sent', 'failed', 'requests', 'requestsFailed'] as const);
  private readonly requests: PendingRequests;
  private connection: Promise<void> | undefined;
  /** True while the sockets are open: emits skip `connect()`. */
  private ready = false;
  private table = new RouteTable<Outbox, Route>([]);
  private deadLetters: Outbox | undefined;
  /** What the outboxes that read their sockets report to: replies and credit, subscription changes. */
  private readonly outboxHost: OutboxHost;
  /** Follows the DNS endpoints (`tcp+dns://`, `tcp+srv://`), if any. */
  private discovery: ClientDiscovery | undefined;

  constructor(options: ZeroMqClientOptions) {
    super();
    this.config = resolveClientOptions(options, (pattern) => this.normalizePattern(pattern));
    this.initializeSerializer(options);
    this.initializeDeserializer(options);
    this.problems = new RateLimitedLog(this.logger, this.config.logInterval);
    this.sockets = new SocketGroup(
      (status) => this._status$.next(status),
      (event) => this.onSocketEvent(event),
      this.problems,
    );
    this.requests = new PendingRequests(
      (pattern, link, timeout) =>
        new ZeroMqRequestError(
          'TIMEOUT',
          pattern,
          link,
          `no complete answer within ${timeout} ms (requestTimeout, or the record's timeout)`,
        ),
    );
    this.outboxHost = {
      requests: this.requests,
      deserializer: this.deserializer,
      problems: this.problems,
      isOpen: () => this.connection !== undefined,
      subscriptionChanged: (socket, change) => this.listeners.emit('subscription', { socket, ...change }),
    };
  }

  /** Status changes: `connecting`, then `connected` / `disconnected` as peers come and go, `closed` at the end. */
  override get status(): Observable<ZeroMqStatus> {
    return super.status as Observable<ZeroMqStatus>;
  }

  /**
   * Opens the sockets once and resolves when each socket that connects has a peer connected, or
   * after `connectTimeout` ms (then with `status` `disconnected`); `emit()` and `send()` call it
   * for you. A failed open (bad address, bind error) rejects and is retried by the next call.
   */
  connect(): Promise<void> {
    this.connection ??= this.open().catch((error: unknown) => {
      this.connection = undefined;
      throw error;
    });
    return this.connection;
  }

  /**
   * Waits for at-least-once acks and sends what is queued (at most `closeTimeout` ms in all),
   * fails the rest with `CLOSED` as well as the requests still waiting for replies, closes the
   * sockets and resolves with the number of emits and requests not sent or not acknowledged.
   */
  async close(): Promise<number> {
    const pending = this.connection;
    this.connection = undefined;
    this.ready = false;
    if (pending === undefined) {
      return 0;
    }
    await pending.catch(() => undefined);
    // Emits made before close() reach their queue within microtasks: let them, so they are flushed.
    await new Promise((resolve) => setImmediate(resolve));
    const deadline = Date.now() + this.config.closeTimeout;
    const remaining = () => Math.max(0, deadline - Date.now());
    // No socket is added or removed by DNS from here on; links leaving DNS are drained with the rest.
    const retiring = this.discovery?.close() ?? [];
    this.discovery = undefined;
    const table = this.table;
    // At-least-once messages are done when acked: wait for the acks first, within the deadline.
    const unacked = await Promise.all(table.routes.map((route) => route.tracker?.drain(remaining()) ?? 0));
    const outboxes = [...table.links(), ...retiring, ...(this.deadLetters ? [this.deadLetters] : [])];
    this.table = new RouteTable<Outbox, Route>([]);
    this.deadLetters = undefined;
    const unsent = await Promise.all(outboxes.map((outbox) => outbox.drain(remaining())));
    const dropped = [...unsent, ...unacked].reduce((sum, count) => sum + count, 0);
    this.requests.failAll((pattern, link) => new ZeroMqRequestError('CLOSED', pattern, link, 'the client closed before the last reply'));
    this.sockets.close();
    await Promise.all(outboxes.map((outbox) => outbox.stopped()));
    if (dropped > 0) {
      this.logger.warn(
        `Closed with ${dropped} emit(s)/request(s) not sent or not acknowledged within closeTimeout (${this.config.closeTimeout} ms)`,
      );
    }
    return dropped;
  }

  override on<K extends keyof ZeroMqClientEvents>(event: K, callback: ZeroMqClientEvents[K]): void {
    this.listeners.on(event, callback);
  }

  /** The PUSH / DEALER / XPUB sockets by name (`'default'`, each route's name; `name#n` per endpoint of a DEALER route). */
  unwrap<T = Record<string, zmq.Push | zmq.Dealer | zmq.XPublisher>>(): T {
    return this.sockets.unwrap('Not initialized. Please call the "connect" method first.') as T;
  }

  /** Actual addresses by socket name; a bound `tcp://127.0.0.1:*` shows its OS-chosen port. */
  getAddresses(): Record<string, string[]> {
    return this.sockets.addresses();
  }

  getMetrics(): ZeroMqClientMetrics {
    const metrics = { ...this.counters.snapshot(), batches: 0, lateReplies: 0, malformedReplies: 0, queued: 0 };
    const subscriptions: Record<string, Record<string, number>> = {};
    for (const outbox of this.table.links()) {
      if (outbox instanceof PubSubOutbox) {
        subscriptions[outbox.name] = outbox.subscriptions.snapshot();
      }
      metrics.batches += outbox.batches;
      metrics.sent += outbox.sent;
      metrics.queued += outbox.load;
      if (outbox instanceof DealerOutbox) {
        metrics.lateReplies += outbox.lateReplies;
        metrics.malformedReplies += outbox.malformedReplies;
      }
    }
    const delivery = { acked: 0, redelivered: 0, deadLettered: 0, unacked: 0 };
    for (const { tracker } of this.table.routes) {
      if (tracker !== undefined) {
        delivery.acked += tracker.counters.acked;
        delivery.redelivered += tracker.counters.redelivered;
        delivery.deadLettered += tracker.counters.deadLettered;
        delivery.unacked += tracker.outstanding;
      }
    }
    const discovery = this.discovery?.metrics();
    return {
      ...metrics,
      ...delivery,
      pendingRequests: this.requests.size,
      connections: this.sockets.connections(),
      subscriptions,
      ...(discovery === undefined ? {} : { discovery }),
    };
  }

  /**
   * Resolves once `count` subscribers hold a subscription that lets `pattern` through on the
   * `'pub-sub'` socket `pattern` is routed to (connecting first); rejects after `timeout` ms.
   * ZeroMQ drops what is published before a subscription has reached the publisher: wait for the
   * subscribers you expect before the first emit that must not be lost.
   */
  async waitForSubscribers(pattern: MsPattern, count = 1, timeout = this.config.sendTimeout): Promise<void> {
    await this.connect();
    const normalized = this.normalizePattern(pattern);
    const outbox = this.routeFor(normalized).links[0];
    if (!(outbox instanceof PubSubOutbox)) {
      throw new ZeroMqSendError(
        'SEND_FAILED',
        normalized,
        outbox.name,
        [],
        `waitForSubscribers() needs a socket of kind 'pub-sub'; this one is '${outbox.managed.kind}'`,
      );
    }
    await outbox.waitForSubscribers(normalized, count, timeout);
  }

  /** Per socket name (as in `connections`): how full its send queue is. Empty before `connect()`. */
  getQueueStates(): Record<string, ZeroMqClientQueueState> {
    const states: Record<string, ZeroMqClientQueueState> = {};
    for (const outbox of this.table.links()) {
      states[outbox.name] = { queued: outbox.queue.length, maxQueueSize: this.config.maxQueueSize };
    }
    return states;
  }

  /**
   * Nest's `emit()` contract (hot; errors reach subscribers; serializer and dispatch hook apply)
   * at the cost of one object per call: see EmitResult. Nest's own builds a deferred, connectable
   * observable, a Subject and several promises per emit.
   */
  override emit<TResult = unknown, TInput = unknown>(pattern: unknown, data: TInput): Observable<TResult> {
    if (pattern === null || pattern === undefined || data === null || data === undefined) {
      return throwError(() => new InvalidMessageException());
    }
    const result = new EmitResult();
    const packet = this.createPacket(pattern, data);
    if (this.ready) {
      this.dispatch(packet, result);
    } else {
      this.connect().then(
        () => this.dispatch(packet, result),
        (error: unknown) => this.failEmit(result, error),
      );
    }
    return result as unknown as Observable<TResult>;
  }

  protected dispatchEvent<T = unknown>(packet: ReadPacket): Promise<T> {
    return new Promise<T>((resolve, reject) => this.dispatch(packet, { resolve: () => resolve(undefined as T), reject }));
  }

  protected publish(record: ReadPacket, callback: (packet: WritePacket) => void): () => void {
    const pattern = this.normalizePattern(record.pattern);
    const { packet, options } = unwrapRecord(record);
    let route: Route;
    try {
      route = this.routeFor(pattern);
      if (!socketKind(route.plan.kind).carriesReplies) {
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
    } catch (error) {
      this.counters.add('requestsFailed');
      callback({ err: error, isDisposed: true });
      return () => undefined;
    }
    const outbox = this.pickLink(route) as DealerOutbox;
    const id = this.requests.open(pattern, outbox.name, callback, options.timeout ?? this.config.requestTimeout);
    const sent: Settle = {
      resolve: () => this.counters.add('requests'),
      reject: (error) => this.requests.fail(id, error),
    };
    this.encode('request', pattern, packet, route, (record) => outbox.request(id, record, sent), sent);
    return () => this.requests.cancel(id);
  }

  /** Routes, serializes and queues one emit; `done` hears how it ended. */
  private dispatch(record: ReadPacket, done: Settle): void {
    const pattern = this.normalizePattern(record.pattern);
    const { packet, options } = unwrapRecord(record);
    let route: Route;
    let tracker: DeliveryTracker | undefined;
    try {
      route = this.routeFor(pattern);
      // A record may ask for at-most-once on an at-least-once route, not the other way round.
      tracker = options.delivery === 'at-most-once' ? undefined : route.tracker;
      if (options.delivery === 'at-least-once' && tracker === undefined) {
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
    } catch (error) {
      this.failEmit(done, error);
      return;
    }
    this.encode(
      'event',
      pattern,
      packet,
      route,
      tracker === undefined
        ? (encoded) => this.pickLink(route).emit(encoded, done)
        : (encoded) =>
            tracker.submit(pattern, encoded, packet.data).then(
              () => {
                this.counters.add('sent');
                done.resolve();
              },
              (error: unknown) => this.failEmit(done, error),
            ),
      done,
    );
  }

  /** Serializes the packet (Nest serializer) and frames it for the route; failures go to `done`. */
  private encode(
    role: 'event' | 'request',
    pattern: string,
    packet: ReadPacket,
    route: Route,
    send: (record: EncodedRecord) => void,
    done: Settle,
  ): void {
    const frame = (serialized: unknown) => {
      const result = serializedPacket(serialized, packet);
      let record: EncodedRecord;
      try {
        if (typeof result === 'string') {
          throw new Error(result);
        }
        record = route.plan.bare ? encodeBareRecord(pattern, result.data) : encodeRecord(pattern, result.data, result.metadata);
      } catch (error) {
        done.reject(
          this.failure(role, pattern, route.name, 'SEND_FAILED', `cannot serialize the payload: ${(error as Error).message}`, error),
        );
        return;
      }
      send(record);
    };
    const serialized: unknown = this.serializer.serialize(packet);
    if (serialized instanceof Promise) {
      serialized.then(frame, (error: unknown) =>
        done.reject(this.failure(role, pattern, route.name, 'SEND_FAILED', `the serializer failed: ${(error as Error)?.message}`, error)),
      );
    } else {
      frame(serialized);
    }
  }

  private async open(): Promise<void> {
    const opened = await this.sockets.open(this.config.sockets, (plan) =>
      socketKind(plan.kind).createClientSocket(clientSocketOptions(this.config)),
    );
    const outboxes = opened.map((managed) => this.outboxFor(managed));
    const routes: Route[] = this.config.routes.map((plan) => {
      const links = outboxes.filter((outbox) => outbox.managed.plan.route === plan.name);
      const dealers = links.filter((outbox): outbox is DealerOutbox => outbox instanceof DealerOutbox);
      const tracker =
        plan.delivery === 'at-least-once'
          ? trackDeliveries(plan.name, dealers, this.config, {
              onDeadLetter: (letter, record) => this.onDeadLetter(letter, record),
              outboxNamed: (name) => {
                const outbox = this.table.link(name);
                return outbox instanceof DealerOutbox ? outbox : undefined;
              },
            })
          : undefined;
      return { name: plan.name, patterns: plan.patterns, plan, links, tracker };
    });
    this.deadLetters = outboxes.find((outbox) => outbox.managed.plan.route === '');
    this.table = new RouteTable<Outbox, Route>(routes);
    const discovery = new ClientDiscovery(this.discoveryHost(), opened, routes);
    if (!discovery.isEmpty) {
      // The first resolution: the routes have their peers before the first emit goes out.
      this.discovery = discovery;
      await discovery.start();
    }
    // Usable means connected: wait (bounded) for a peer on each socket that connects.
    const connecting = opened.filter((managed) => managed.plan.endpoints.some((endpoint) => !endpoint.bind));
    await this.sockets.waitForPeers(
      connecting.map((managed) => managed.name),
      this.config.connectTimeout,
    );
    this.ready = true;
    // Greet every at-least-once worker at once too: a handshake may have come before the tracker
    // existed, and inproc has none. The send waits for the connection; a second hello only repeats the credit.
    for (const outbox of this.table.links()) {
      this.sayHello(outbox.name);
    }
  }

  /** The outbox of an opened socket, made by its kind; a DEALER's starts reading its replies. */
  private outboxFor(managed: ManagedSocket<zmq.Socket, ClientSocketPlan>): Outbox {
    const endpoints = managed.plan.endpoints.map((e) => e.address);
    const outbox = socketKind(managed.kind).createOutbox(managed, this.config, (item, code, detail, cause) =>
      // A delivery or hello that did not go out is not an emit that failed: the at-least-once
      // tracker sends the delivery elsewhere (or dead-letters it), and greets the worker again.
      item.kind === 'deliveries' || item.kind === 'hello'
        ? new ZeroMqSendError(code, item.pattern, managed.name, endpoints, detail, { cause })
        : this.failure(item.kind === 'requests' ? 'request' : 'event', item.pattern, managed.name, code, detail, cause, endpoints),
    );
    outbox.start(this.outboxHost);
    return outbox;
  }

  /** What DNS discovery may use of this client (ClientDiscoveryHost). */
  private discoveryHost(): ClientDiscoveryHost {
    return {
      config: this.config,
      sockets: this.sockets,
      table: () => this.table,
      outboxFor: (managed) => this.outboxFor(managed),
      sayHello: (name) => this.sayHello(name),
      requestsOn: (name) => this.requests.countOn(name),
      failRequests: (name, detail) =>
        this.counters.add(
          'requestsFailed',
          this.requests.failLink(name, (pattern) => new ZeroMqRequestError('PEER_LOST', pattern, name, detail)),
        ),
    };
  }

  private onDeadLetter(letter: ZeroMqDeadLetter, record: EncodedRecord): void {
    this.problems.warn(
      'deadLetter',
      `Dead letter: "${letter.pattern}" ${letter.messageId} after ${letter.attempts} attempt(s): ${letter.reason}`,
    );
    this.listeners.emit('dead-letter', letter);
    if (this.deadLetters !== undefined) {
      const metadata = { deadLetterReason: letter.reason, deadLetterAttempts: String(letter.attempts), messageId: letter.messageId };
      const info = record.info[0] + JSON.stringify(metadata);
      this.deadLetters.emit({ ...record, info, size: record.size + info.length }, { resolve: () => undefined, reject: () => undefined });
    }
  }

  /** Greets the worker behind an at-least-once outbox so that it announces its credit (after every (re)connect). */
  private sayHello(name: string): void {
    const outbox = this.table.link(name);
    if (outbox instanceof DealerOutbox && outbox.tracker !== undefined) {
      outbox
        .hello(outbox.tracker.producerId)
        .catch((error: unknown) => this.problems.warn('hello', `No hello to the worker on "${name}" yet: ${(error as Error).message}`));
    }
  }

  private onSocketEvent(event: ZeroMqSocketEvent): void {
    this.discovery?.onSocketEvent(event);
    if (event.type === ZeroMqSocketEventType.HANDSHAKE) {
      this.sayHello(event.socket);
    } else if (event.type === ZeroMqSocketEventType.DISCONNECT) {
      this.onDisconnect(event);
    }
    this.listeners.emit(event.type, event);
  }

  /** A DEALER connected to one server lost it: its requests fail now, its deliveries go elsewhere. */
  private onDisconnect(event: ZeroMqSocketEvent): void {
    const outbox = this.table.link(event.socket);
    const { plan } = outbox?.managed ?? {};
    if (outbox instanceof DealerOutbox && plan?.endpoints.length === 1 && !plan.endpoints[0].bind) {
      outbox.tracker?.linkLost(outbox.name);
      const detail = this.sockets.withHandshakeFailure(outbox.name, `the server at ${event.address} disconnected before the last reply`);
      this.counters.add(
        'requestsFailed',
        this.requests.failLink(outbox.name, (pattern) => new ZeroMqRequestError('PEER_LOST', pattern, outbox.name, detail)),
      );
    }
  }

  private routeFor(pattern: string): Route {
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

  /** The connected outbox with the least work waiting (queued + unanswered); round-robin among equals. */
  private pickLink(route: Route): Outbox {
    return this.table.pick(
      route,
      (outbox) => outbox.managed.connected,
      (outbox) => outbox.load + this.requests.countOn(outbox.name),
    );
  }

  /**
   * The error an emit or request fails with, counted, logged and emitted as an `error` event:
   * Nest drops an emit's error when nobody subscribed, so it must be visible another way.
   */
  private failure(
    role: 'event' | 'request',
    pattern: string,
    socket: string,
    code: ZeroMqSendErrorCode,
    detail: string,
    cause?: unknown,
    endpoints: string[] = [],
  ): Error {
    const why = code === 'SEND_TIMEOUT' ? this.sockets.withHandshakeFailure(socket, detail) : detail;
    const error =
      role === 'request'
        ? new ZeroMqRequestError(code, pattern, socket, why, { cause })
        : new ZeroMqSendError(code, pattern, socket, endpoints, why, { cause });
    this.counters.add(role === 'request' ? 'requestsFailed' : 'failed');
    this.report(error);
    return error;
  }

  private failEmit(done: Settle, error: unknown): void {
    this.counters.add('failed');
    this.report(error);
    done.reject(error as Error);
  }

  private report(error: unknown): void {
    this.problems.error('send', (error as Error).message);
    this.listeners.emit('error', error);
  }
}

/** Why a route that follows DNS names has nowhere to send yet. */
function noPeerYet(route: Route): string {
  const names = route.plan.endpoints.map((endpoint) => endpoint.address).join(', ');
  return `no peer yet: ${names} resolved to no address (see the discovery option; the resolution is retried every interval)`;
}
