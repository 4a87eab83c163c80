import { LmdbLedger } from './internal/at-least-once/lmdb-ledger.js';
import { Logger } from '@nestjs/common';
import { Server, type CustomTransportStrategy, type MessageHandler, type ReadPacket, type WritePacket } from '@nestjs/microservices';
import type { Observable } from 'rxjs';
import type * as zmq from 'zeromq';
import { ZEROMQ_TRANSPORT } from './constants.js';
import { DiscoveryRegistry } from './internal/discovery/discovery-registry.js';
import { createServerSocket, socketKind } from './internal/kinds/kinds.js';
import type { ResolvedServerOptions, ServerSocketPlan } from './internal/options/plans.js';
import { resolveServerOptions } from './internal/options/resolve-options.js';
import type { DecodedRecord } from './internal/protocol/wire.js';
import { ClientAuthorization } from './internal/security/client-authorization.js';
import { serverRoleOf } from './internal/security/curve.js';
import { HandlerLookup } from './internal/server/handler-lookup.js';
import type { Inbox } from './internal/server/inbox.js';
import type { InboxHost, RoutedPacket } from './internal/server/inbox-host.js';
import { inboxTotals, socketStates } from './internal/server/inbox-metrics.js';
import { ServerState } from './internal/server/server-state.js';
import { SocketGroup } from './internal/sockets/socket-group.js';
import { settlesWithin } from './internal/util/deadline.js';
import { Listeners } from './internal/util/listeners.js';
import { GATE_PROCESSING_HOOKS } from './internal/server/hook-gates.js';
import { RateLimitedLog } from './internal/util/rate-limited-log.js';
import type { ZeroMqContext } from './zeromq.context.js';
import { ZeroMqStatus, type ZeroMqServerEvents } from './zeromq.events.js';
import type { ZeroMqServerMetrics, ZeroMqServerSocketState } from './zeromq.metrics.js';
import type { ZeroMqServerOptions } from './zeromq.options.js';

const NOT_LISTENING = 'Not initialized. Please call the "listen"/"startAllMicroservices" method before accessing the server.';

/**
 * NestJS transport strategy that feeds `@EventPattern` and `@MessagePattern` handlers from ZeroMQ
 * sockets of the kind each socket's options name: a PULL socket takes events (`kind: 'push-pull'`,
 * the default); a ROUTER socket takes events, answers `send()` requests and acknowledges
 * at-least-once deliveries (`'dealer-router'`); a SUB socket takes broadcast events, subscribed to
 * the handlers' patterns (`'pub-sub'`).
 *
 * ```ts
 * const app = await NestFactory.createMicroservice(WorkerModule, {
 *   strategy: new ZeroMqServer({ endpoints: ['tcp://0.0.0.0:5557'] }),
 * });
 * ```
 * It is a thin adapter: each socket is read by its inbox (internal/server), which the socket's
 * kind (internal/kinds) creates; the server gives them Nest's handlers, hooks and serializers.
 * @publicApi
 */
export class ZeroMqServer extends Server<ZeroMqServerEvents, ZeroMqStatus> implements CustomTransportStrategy {
  override transportId = ZEROMQ_TRANSPORT;
  protected override readonly logger = new Logger(ZeroMqServer.name);

  private readonly config: ResolvedServerOptions;
  private readonly listeners = new Listeners(this.logger);
  private readonly sockets: SocketGroup<zmq.Socket>;
  private readonly problems: RateLimitedLog;
  /** `curve.allowClients`, enforced through ZAP; undefined without an allow-list. */
  private readonly authorization: ClientAuthorization | undefined;
  /** What the inboxes read on every record (closing, timed, hooked): kept current here. */
  private readonly state = new ServerState();
  private installingGatedHooks = false;
  private readonly handlers = new HandlerLookup(this.messageHandlers);
  private inboxes: Inbox[] = [];
  private discovery = new DiscoveryRegistry();
  private closing: Promise<void> | undefined;
  private ledger: LmdbLedger | undefined;

  constructor(options: ZeroMqServerOptions) {
    super();
    this.config = resolveServerOptions(options, (pattern) => this.normalizePattern(pattern), socketKind);
    this.initializeSerializer(options);
    this.initializeDeserializer(options);
    this.problems = new RateLimitedLog(this.logger, this.config.logInterval);
    this.sockets = new SocketGroup(
      (status) => this._status$.next(status),
      (event) => {
        this.discovery.onSocketEvent(event);
        this.listeners.emit(event.type, event);
      },
      this.problems,
      'server',
    );
    this.authorization = ClientAuthorization.reporting(serverRoleOf(this.config.curve), this.problems, this.listeners, 'client');
  }

  async listen(callback: (error?: unknown) => void): Promise<void> {
    try {
      // A close() still running finishes first: it closes the sockets it found, not those opened now.
      await this.closing;
      this.closing = undefined;
      this.state.closing = false;
      if (this.config.ledger !== undefined) {
        this.ledger ??= await LmdbLedger.open(this.config.ledger.path, this.config.dedupeWindow);
      }
      // Before the sockets open: no client may connect while nobody checks it.
      await this.authorization?.start();
      const opened = await this.sockets.open(this.config.sockets, (plan) => createServerSocket(this.config, plan));
      const host = this.inboxHost();
      this.inboxes = opened.map((managed) => socketKind(managed.kind).createInbox(managed, host));
      this.warnAboutRoutesWithoutHandlers(this.config.sockets);
      this.warnAboutRequestsWithoutReplies(this.config.sockets);
      for (const inbox of this.inboxes) {
        inbox.start();
      }
      // Connecting sockets that name their peers through DNS connect to what the names list now.
      this.discovery = DiscoveryRegistry.following(opened, this.config.discovery);
      await this.discovery.start();
      callback();
    } catch (error) {
      this.authorization?.stop();
      await this.closeLedger();
      callback(error);
    }
  }

  /**
   * Stops reading, lets running handlers finish (at most `closeTimeout` ms), then closes the
   * sockets. No handler starts after it resolves.
   */
  close(): Promise<void> {
    this.state.closing = true;
    this.closing ??= this.shutdown();
    return this.closing;
  }

  /** Nest's processing start hook; once one is set, handlers run inside the hooks (addProcessingHooks can gate them). */
  override setOnProcessingStartHook(hook: Parameters<Server['setOnProcessingStartHook']>[0]): void {
    super.setOnProcessingStartHook(hook);
    this.hookSet();
  }

  /** Nest's processing end hook: as the start hook, once one is set handlers run inside the hooks. */
  override setOnProcessingEndHook(hook: Parameters<Server['setOnProcessingEndHook']>[0]): void {
    super.setOnProcessingEndHook(hook);
    this.hookSet();
  }

  /** A hook set directly always runs; one that addProcessingHooks installs with a gate is counted by the gate. */
  private hookSet(): void {
    if (!this.installingGatedHooks) {
      this.state.hookSet();
    }
  }

  /** See GatedProcessingHooks: used by addProcessingHooks, not meant to be called directly. */
  [GATE_PROCESSING_HOOKS](active: () => boolean, install: () => void): void {
    this.installingGatedHooks = true;
    try {
      install();
    } finally {
      this.installingGatedHooks = false;
    }
    this.state.hookSet(active);
  }

  on<K extends keyof ZeroMqServerEvents>(event: K, callback: ZeroMqServerEvents[K]): void {
    this.listeners.on(event, callback);
    this.state.timed = this.listeners.has('handler-end');
  }

  /** The PULL / ROUTER / SUB sockets by name (`'default'` and each route's name). */
  unwrap<T = Record<string, zmq.Pull | zmq.Router | zmq.Subscriber>>(): T {
    return this.sockets.unwrap(NOT_LISTENING) as T;
  }

  /** Actual addresses by socket name; a bound `tcp://127.0.0.1:*` shows its OS-chosen port. */
  getAddresses(): Record<string, string[]> {
    return this.sockets.addresses();
  }

  getMetrics(): ZeroMqServerMetrics {
    const discovery = this.discovery.metrics();
    return {
      ...inboxTotals(this.inboxes),
      unauthorized: this.authorization?.rejections ?? 0,
      connections: this.sockets.connections(),
      disconnects: this.sockets.disconnects(),
      ...(discovery === undefined ? {} : { discovery }),
    } as ZeroMqServerMetrics;
  }

  /** Per open socket: whether it is reading, its handlers in flight against `concurrency`, its bytes held against its receive budget. Empty once closed. */
  getSocketStates(): Record<string, ZeroMqServerSocketState> {
    return socketStates(this.inboxes, this.sockets.connections());
  }

  /**
   * Exact lookup first, then wildcard handlers (`orders.*`, `prices.>`; exact ones win); patterns
   * arrive normalized, so Nest's JSON re-parsing is the last resort.
   */
  override getHandlerByPattern(pattern: string): MessageHandler | null {
    // Nest's fallback re-parses the pattern as JSON (an object pattern written another way): only
    // worth it for what looks like JSON; for any other unknown pattern it throws and costs ~11 µs.
    return this.handlers.find(pattern) ?? (pattern.startsWith('{') ? super.getHandlerByPattern(pattern) : null);
  }

  /** What the inboxes may use of this server (InboxHost); bound once, shared by all of them. */
  private inboxHost(): InboxHost {
    return {
      config: this.config,
      completedIds: this.ledger,
      problems: this.problems,
      state: this.state,
      route: (record: DecodedRecord) => this.route(record),
      eventPatterns: () => [...this.messageHandlers].filter(([, handler]) => handler.isEventHandler).map(([pattern]) => pattern),
      serialize: (response: WritePacket & { id: string }) => this.serializer.serialize(response),
      runWithProcessingHooks: (context: ZeroMqContext, run: (runEndHook: () => void) => Promise<void>) =>
        this.runWithProcessingHooks(context, run),
      handleRequest: (context, produce, respond) => this.handleRequest(context, produce, respond),
      toObservable: (value: unknown) => this.transformToObservable(value) as Observable<unknown>,
      emit: (event: string, ...values: unknown[]) => this.listeners.emit(event, ...values),
    };
  }

  /** A received record's packet (Nest deserializer), its pattern normalized, and that pattern's handler. */
  private route(record: DecodedRecord): RoutedPacket | Promise<RoutedPacket> {
    const packet = this.deserializer.deserialize(record, { channel: record.pattern }) as ReadPacket | Promise<ReadPacket>;
    return packet instanceof Promise ? packet.then((resolved) => this.routedPacket(resolved)) : this.routedPacket(packet);
  }

  private routedPacket(packet: ReadPacket): RoutedPacket {
    const pattern = typeof packet.pattern === 'string' ? packet.pattern : this.normalizePattern(packet.pattern);
    return { packet, pattern, handler: this.getHandlerByPattern(pattern) };
  }

  private async closeLedger(): Promise<void> {
    const ledger = this.ledger;
    this.ledger = undefined;
    await ledger?.close();
  }

  /** A `@MessagePattern` whose socket carries no replies would never answer: its callers would time out. */
  private warnAboutRequestsWithoutReplies(plans: readonly ServerSocketPlan[]): void {
    for (const [pattern, handler] of this.messageHandlers) {
      const plan =
        plans.find((candidate) => candidate.patterns.includes(pattern)) ?? plans.find((candidate) => candidate.patterns.length === 0);
      if (!handler.isEventHandler && plan !== undefined && !socketKind(plan.kind).carriesReplies) {
        this.logger.warn(
          `@MessagePattern("${pattern}") cannot answer: it arrives on socket "${plan.name}" of kind '${plan.kind}', which carries no replies; ` +
            `set kind: 'dealer-router' on this server and on its clients (or use @EventPattern)`,
        );
      }
    }
  }

  private warnAboutRoutesWithoutHandlers(plans: readonly ServerSocketPlan[]): void {
    for (const plan of plans) {
      for (const pattern of plan.patterns) {
        if (this.getHandlerByPattern(pattern) === null) {
          this.logger.warn(`Route "${plan.name}" lists pattern "${pattern}", which has no @EventPattern handler here`);
        }
      }
    }
  }

  private async shutdown(): Promise<void> {
    // Producers stop sending here first: at-least-once ones are told credit 0, PULL sockets stop
    // taking connections. Handlers already running may finish; none starts. Replies of running
    // requests still go out: ROUTER sockets close after them.
    const deadline = Date.now() + this.config.closeTimeout;
    const remaining = () => Math.max(0, deadline - Date.now());
    const inboxes = this.inboxes;
    // No peer found through DNS is connected (or disconnected) from here on.
    this.discovery.close();
    for (const inbox of inboxes) {
      inbox.stopTaking();
    }
    const drained = await Promise.all(inboxes.map((inbox) => inbox.dispatcher.idle(remaining())));
    // What the sockets hold unread is read now, and counted as dropped, rather than lost uncounted.
    await Promise.all(inboxes.map((inbox) => inbox.readRemaining(remaining())));
    await Promise.all(inboxes.map((inbox) => inbox.flush(remaining())));
    this.sockets.close();
    this.authorization?.stop();
    await this.closeLedger();
    const loopsEnded = await settlesWithin(Promise.all(inboxes.map((inbox) => inbox.stopped())), remaining());
    const { inFlight, droppedOnClose } = this.getMetrics();
    if (!loopsEnded || drained.includes(false)) {
      this.logger.warn(`Closed with ${inFlight} handler(s) still running after closeTimeout (${this.config.closeTimeout} ms)`);
    }
    if (droppedOnClose > 0) {
      this.logger.warn(`${droppedOnClose} received record(s) were not started because the server was closing`);
    }
    this._status$.next(ZeroMqStatus.CLOSED);
  }
}
