import { Logger } from '@nestjs/common';
import { ClientProxy, type MsPattern, type ReadPacket, type WritePacket } from '@nestjs/microservices';
import { throwError, type Observable } from 'rxjs';
import type * as zmq from 'zeromq';
import { clientErrors } from './internal/client/client-errors.js';
import { ClientParts } from './internal/client/client-parts.js';
import type { ClientRoutes } from './internal/client/client-routes.js';
import type { ClientSender } from './internal/client/client-sender.js';
import { coldRequest } from './internal/client/cold-request.js';
import { EmitResult } from './internal/client/emit-result.js';
import type { PendingRequests } from './internal/client/pending-requests.js';
import type { SendOutcomes } from './internal/client/send-outcomes.js';
import { createClientSocket, socketKind } from './internal/kinds/kinds.js';
import type { ClientSocketPlan, ResolvedClientOptions } from './internal/options/plans.js';
import { resolveClientOptions } from './internal/options/resolve-options.js';
import type { ManagedSocket } from './internal/sockets/managed-socket.js';
import type { Settle } from './internal/sockets/send-queue.js';
import { SocketGroup } from './internal/sockets/socket-group.js';
import { ClientAuthorization } from './internal/security/client-authorization.js';
import { serverRoleOf } from './internal/security/curve.js';
import { Listeners } from './internal/util/listeners.js';
import { RateLimitedLog } from './internal/util/rate-limited-log.js';
import { ZeroMqSendError } from './zeromq.errors.js';
import type { ZeroMqClientEvents, ZeroMqSocketEvent, ZeroMqStatus } from './zeromq.events.js';
import type { ZeroMqClientMetrics, ZeroMqClientQueueState } from './zeromq.metrics.js';
import type { ZeroMqClientOptions } from './zeromq.options.js';
import { InvalidMessageException } from './internal/client/invalid-message.js';

/**
 * NestJS client that sends `emit()` and `send()` calls over ZeroMQ sockets of the kind each
 * route's options name: a PUSH socket round-robins events over the workers (`kind: 'push-pull'`,
 * the default); a DEALER per server carries events, `send()` requests and their replies, and
 * at-least-once deliveries with their acks (`'dealer-router'`); an XPUB socket broadcasts events to
 * every matching subscriber (`'pub-sub'`).
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
  private readonly outcomes: SendOutcomes;
  private readonly requests: PendingRequests;
  private connection: Promise<void> | undefined;
  /** The close() calls made so far: a connect() waits for them. */
  private closing: Promise<unknown> | undefined;
  /** True while the sockets are open: emits skip `connect()`. */
  private ready = false;
  private readonly routes: ClientRoutes;
  /** Each emit's and request's way down to its outbox. */
  private readonly sender: ClientSender;
  /** `curve.allowSubscribers`, enforced through ZAP on the `'pub-sub'` sockets; undefined without it. */
  private readonly authorization: ClientAuthorization | undefined;

  constructor(options: ZeroMqClientOptions) {
    super();
    this.config = resolveClientOptions(options, (pattern) => this.normalizePattern(pattern), socketKind);
    this.initializeSerializer(options);
    this.initializeDeserializer(options);
    this.problems = new RateLimitedLog(this.logger, this.config.logInterval);
    this.sockets = new SocketGroup(
      (status) => this._status$.next(status),
      (event) => this.onSocketEvent(event),
      this.problems,
      'client',
    );
    this.authorization = ClientAuthorization.reporting(serverRoleOf(this.config.curve), this.problems, this.listeners, 'subscriber');
    const parts = new ClientParts({
      config: this.config,
      sockets: this.sockets,
      problems: this.problems,
      listeners: this.listeners,
      serializer: this.serializer,
      deserializer: this.deserializer,
      isOpen: () => this.connection !== undefined,
      kinds: socketKind,
      createSocket: (plan) => createClientSocket(this.config, plan),
      createOutbox: (managed, outboxParts) => socketKind(managed.kind).createOutbox(managed, outboxParts),
    });
    this.outcomes = parts.outcomes;
    this.requests = parts.requests;
    this.routes = parts.routes;
    this.sender = parts.sender;
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
    // A close() still running finishes first: it closes the sockets it found, not those opened now.
    const closing = this.closing;
    this.connection ??= (closing === undefined ? this.open() : closing.catch(() => undefined).then(() => this.open())).catch(
      (error: unknown) => {
        this.connection = undefined;
        this.authorization?.stop();
        throw error;
      },
    );
    return this.connection;
  }

  /**
   * Waits for at-least-once acks and sends what is queued (at most `closeTimeout` ms in all),
   * fails the rest with `CLOSED` as well as the requests still waiting for replies, closes the
   * sockets and resolves with the number of emits and requests not sent or not acknowledged.
   */
  close(): Promise<number> {
    const closing = this.shutdown();
    // A connect() waits for every close() still running, not only the last (which may have nothing to do).
    this.closing = this.closing === undefined ? closing : Promise.all([this.closing, closing]);
    return closing;
  }

  private async shutdown(): Promise<number> {
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
    const { dropped, outboxes } = await this.routes.close(() => Math.max(0, deadline - Date.now()));
    this.requests.failAll(clientErrors.closedBeforeReply);
    this.sockets.close();
    this.authorization?.stop();
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
    const counters = this.outcomes.counters.snapshot();
    const totals = this.routes.totals();
    return {
      ...counters,
      ...totals,
      // At-most-once emits are counted by their outboxes, acked at-least-once ones here.
      sent: counters.sent + totals.sent,
      pendingRequests: this.requests.size,
      connections: this.sockets.connections(),
      unauthorized: this.authorization?.rejections ?? 0,
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
    const outbox = this.routes.routeFor(normalized).links[0];
    const subscriptions = outbox.subscriptions;
    if (subscriptions === undefined) {
      throw new ZeroMqSendError(
        'SEND_FAILED',
        normalized,
        outbox.name,
        [],
        `waitForSubscribers() needs a socket of kind 'pub-sub'; this one is '${outbox.managed.kind}'`,
      );
    }
    await subscriptions.waitFor(normalized, count, timeout, `Socket "${outbox.name}"`);
  }

  /** Per socket name (as in `connections`): how full its send queue is. Empty before `connect()`. */
  getQueueStates(): Record<string, ZeroMqClientQueueState> {
    const states: Record<string, ZeroMqClientQueueState> = {};
    for (const outbox of this.routes.links()) {
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
        (error: unknown) => result.reject(this.outcomes.emitFailed(error)),
      );
    }
    return result as unknown as Observable<TResult>;
  }

  /**
   * Nest's `send()` contract (cold: one request per subscription; replies, errors and completion as
   * Nest delivers them; serializer and dispatch hook apply) without the Observables Nest wraps
   * around every request to await `connect()`: see coldRequest.
   */
  override send<TResult = unknown, TInput = unknown>(pattern: unknown, data: TInput): Observable<TResult> {
    if (pattern === null || pattern === undefined || data === null || data === undefined) {
      return throwError(() => new InvalidMessageException());
    }
    return coldRequest<TResult>(
      () => this.ready,
      () => this.connect(),
      (subscriber) => this.publish(this.createPacket(pattern, data), this.createObserver(subscriber)),
    );
  }

  protected dispatchEvent<T = unknown>(packet: ReadPacket): Promise<T> {
    return new Promise<T>((resolve, reject) => this.dispatch(packet, { resolve: () => resolve(undefined as T), reject }));
  }

  protected publish(record: ReadPacket, callback: (packet: WritePacket) => void): () => void {
    return this.sender.request(this.normalizePattern(record.pattern), record, callback);
  }

  /** Routes, serializes and queues one emit; `done` hears how it ended. */
  private dispatch(record: ReadPacket, done: Settle): void {
    this.sender.emit(this.normalizePattern(record.pattern), record, done);
  }

  private async open(): Promise<void> {
    await this.routes.openOutboxes();
    let opened: ManagedSocket<zmq.Socket, ClientSocketPlan>[];
    try {
      // Before the sockets open: no subscriber may connect while nobody checks it.
      await this.authorization?.start();
      opened = await this.sockets.open(this.config.sockets, (plan) => createClientSocket(this.config, plan));
      await this.routes.open(opened);
    } catch (error) {
      await this.routes.closeOutboxes();
      throw error;
    }
    // Usable means connected: wait (bounded) for a peer on each socket that connects.
    const connecting = opened.filter((managed) => managed.plan.endpoints.some((endpoint) => !endpoint.bind));
    await this.sockets.waitForPeers(
      connecting.map((managed) => managed.name),
      this.config.connectTimeout,
    );
    this.ready = true;
    // The send of a hello waits for the connection; a second hello only repeats the credit.
    this.routes.greetAll();
  }

  private onSocketEvent(event: ZeroMqSocketEvent): void {
    this.routes.onSocketEvent(event);
    this.listeners.emit(event.type, event);
  }
}
