import { Logger } from '@nestjs/common';
import { ClientProxy, type ReadPacket, type WritePacket } from '@nestjs/microservices';
import type { Observable } from 'rxjs';
import * as zmq from 'zeromq';
import { DEAD_LETTER_SOCKET_NAME } from './constants.js';
import { Counters } from './internal/counters.js';
import { DeliveryTracker, type Delivery } from './internal/delivery-tracker.js';
import type { ManagedSocket } from './internal/managed-socket.js';
import { PendingRequests } from './internal/pending-requests.js';
import { RateLimitedLog } from './internal/rate-limited-log.js';
import { receiveLoop } from './internal/receive-loop.js';
import { resolveClientOptions, type ResolvedClientOptions } from './internal/resolve-options.js';
import { RouteTable } from './internal/route-table.js';
import { SendQueue } from './internal/send-queue.js';
import { SocketGroup, tuningSocketOptions } from './internal/socket-group.js';
import {
  decodeMessage,
  DELIVERY_STATUSES,
  encodeBareRecord,
  encodeDeliveriesMessage,
  encodeEventsMessage,
  encodeHello,
  encodeRecord,
  encodeRequestsMessage,
  isBinary,
  packFrames,
  type DecodedReply,
  type EncodedRecord,
} from './internal/wire.js';
import { ZeroMqRequestError, ZeroMqSendError, type ZeroMqSendErrorCode } from './zeromq.errors.js';
import {
  ZeroMqSocketEventType,
  type ZeroMqClientEvents,
  type ZeroMqDeadLetter,
  type ZeroMqSocketEvent,
  type ZeroMqStatus,
} from './zeromq.events.js';
import type { ZeroMqClientOptions } from './zeromq.options.js';

/** Counters of a ZeroMqClient, from `getMetrics()`. */
export interface ZeroMqClientMetrics {
  /** Emits handed to ZeroMQ. */
  sent: number;
  /** Emits that failed (timeout, full queue, dropped, closed, no route, serialization). */
  failed: number;
  /** ZeroMQ messages sent; `(sent + requests) / batches` is the mean batch size. */
  batches: number;
  /** Requests (`send()`) handed to ZeroMQ. */
  requests: number;
  /** Requests that failed before their last reply (timeout, lost server, closed, send failure). */
  requestsFailed: number;
  /** Replies for requests nobody waits for any more (timed out or unsubscribed). */
  lateReplies: number;
  /** Messages from servers that could not be read as replies. */
  malformedReplies: number;
  /** At-least-once messages acked by a worker. */
  acked: number;
  /** At-least-once deliveries that were repeats (after a failure, lost ack or lost worker). */
  redelivered: number;
  /** At-least-once messages given up on (their emits rejected with DEAD_LETTER). */
  deadLettered: number;
  /** At-least-once messages not acked yet (waiting, in flight or backing off). */
  unacked: number;
  /** Emits and requests waiting in the queues now. */
  queued: number;
  /** Requests waiting for replies now. */
  pendingRequests: number;
  /** Live connections per socket name, from the socket monitor. */
  connections: Record<string, number>;
}

const COUNTERS = ['sent', 'failed', 'batches', 'requests', 'requestsFailed', 'lateReplies', 'malformedReplies'] as const;

/** What a link's queue carries: an emit, a request, an at-least-once delivery, or a hello. */
type Outgoing =
  | { kind: 'event'; pattern: string; record: EncodedRecord }
  | { kind: 'request'; pattern: string; record: EncodedRecord; id: string }
  | { kind: 'delivery'; pattern: string; record: EncodedRecord; delivery: Delivery; maxAttempts: number }
  | { kind: 'hello'; pattern: string; record: EncodedRecord; producerId: string };

/**
 * Frames of a batch of items of one kind (the queue never mixes kinds in a batch); several records
 * travel packed into one body frame.
 */
function encodeBatch(batch: Outgoing[]): Array<string | Uint8Array> {
  const first = batch[0];
  let frames: Array<string | Uint8Array>;
  switch (first.kind) {
    case 'event':
      frames = encodeEventsMessage(batch.map((item) => item.record));
      break;
    case 'request':
      frames = encodeRequestsMessage((batch as Array<typeof first>).map(({ id, record }) => ({ id, record })));
      break;
    case 'delivery':
      frames = encodeDeliveriesMessage(
        (batch as Array<typeof first>).map(({ delivery, maxAttempts }) => ({
          id: delivery.id,
          attempt: delivery.attempt,
          maxAttempts,
          record: delivery.record,
        })),
      );
      break;
    case 'hello':
      return encodeHello(first.producerId);
  }
  return batch.length > 1 ? packFrames(frames) : frames;
}

const NO_RECORD: EncodedRecord = { pattern: '', info: '', payload: '', size: 0 };

type LinkPlan = ResolvedClientOptions['sockets'][number] & { route: string };

/** One ZeroMQ socket of the client and its writer. */
interface Link {
  name: string;
  socket: ManagedSocket<zmq.Push | zmq.Dealer>;
  queue: SendQueue<Outgoing>;
  /** Connects to one endpoint: a disconnect means the server behind it is gone. */
  singlePeer: boolean;
  /** At-least-once routes: the route's tracker, which this link's worker acks to. */
  tracker: DeliveryTracker | undefined;
}

/** The socket(s) a pattern is sent over: one PUSH socket, or one DEALER per endpoint. */
interface Route {
  name: string;
  patterns: readonly string[];
  plan: ResolvedClientOptions['sockets'][number];
  links: Link[];
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
 * @publicApi
 */
// Status stays `string` in the base class: a ZeroMqStatus there makes `customClass: ZeroMqClient`
// fail to compile under strictFunctionTypes (TS2322; Nest types customClass as Type<ClientProxy>).
export class ZeroMqClient extends ClientProxy<ZeroMqClientEvents> {
  protected readonly logger = new Logger(ZeroMqClient.name);

  private readonly config: ResolvedClientOptions;
  private readonly sockets: SocketGroup<zmq.Push | zmq.Dealer>;
  private readonly problems: RateLimitedLog;
  private readonly counters = new Counters(COUNTERS);
  private readonly requests: PendingRequests;
  private connection: Promise<void> | undefined;
  private table = new RouteTable<Link, Route>([]);
  private readLoops: Array<Promise<void>> = [];
  private deadLetters: SendQueue<Outgoing> | undefined;

  constructor(options: ZeroMqClientOptions) {
    super();
    this.config = resolveClientOptions(options);
    this.initializeSerializer(options);
    this.initializeDeserializer(options);
    this.problems = new RateLimitedLog(this.logger, this.config.logInterval);
    this.sockets = new SocketGroup<zmq.Push | zmq.Dealer>((status) => this._status$.next(status), this.logger, this.problems);
    this.requests = new PendingRequests(
      (pattern, link) =>
        new ZeroMqRequestError('TIMEOUT', pattern, link, `no complete answer within ${this.config.requestTimeout} ms (requestTimeout)`),
    );
    this.sockets.on(ZeroMqSocketEventType.DISCONNECT, (event: ZeroMqSocketEvent) => this.onDisconnect(event));
    this.sockets.on(ZeroMqSocketEventType.HANDSHAKE, (event: ZeroMqSocketEvent) => this.sayHello(event.socket));
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
    if (pending === undefined) {
      return 0;
    }
    await pending.catch(() => undefined);
    // Emits made before close() reach their queue within microtasks: let them, so they are flushed.
    await new Promise((resolve) => setImmediate(resolve));
    const deadline = Date.now() + this.config.closeTimeout;
    const remaining = () => Math.max(0, deadline - Date.now());
    const table = this.table;
    // At-least-once messages are done when acked: wait for the acks first, within the deadline.
    const unacked = await Promise.all(table.routes.map((route) => route.tracker?.drain(remaining()) ?? 0));
    const links = table.links();
    this.table = new RouteTable<Link, Route>([]);
    const queues = [...links.map((link) => link.queue), ...(this.deadLetters ? [this.deadLetters] : [])];
    this.deadLetters = undefined;
    const unsent = await Promise.all(queues.map((queue) => queue.drain(remaining())));
    const dropped = [...unsent, ...unacked].reduce((sum, count) => sum + count, 0);
    this.requests.failAll((pattern, link) => new ZeroMqRequestError('CLOSED', pattern, link, 'the client closed before the last reply'));
    this.sockets.close();
    await Promise.all(this.readLoops.splice(0));
    if (dropped > 0) {
      this.logger.warn(
        `Closed with ${dropped} emit(s)/request(s) not sent or not acknowledged within closeTimeout (${this.config.closeTimeout} ms)`,
      );
    }
    return dropped;
  }

  override on<K extends keyof ZeroMqClientEvents>(event: K, callback: ZeroMqClientEvents[K]): void {
    this.sockets.on(event, callback);
  }

  /** The PUSH / DEALER sockets by name (`'default'`, each route's name; `name#n` per endpoint of a DEALER route). */
  unwrap<T = Record<string, zmq.Push | zmq.Dealer>>(): T {
    return this.sockets.unwrap('Not initialized. Please call the "connect" method first.') as T;
  }

  /** Actual addresses by socket name; a bound `tcp://127.0.0.1:*` shows its OS-chosen port. */
  getAddresses(): Record<string, string[]> {
    return this.sockets.addresses();
  }

  getMetrics(): ZeroMqClientMetrics {
    let queued = 0;
    for (const link of this.table.links()) {
      queued += link.queue.length + link.queue.sending;
    }
    const delivery = { acked: 0, redelivered: 0, deadLettered: 0, unacked: 0 };
    for (const route of this.table.routes) {
      if (route.tracker !== undefined) {
        delivery.acked += route.tracker.counters.acked;
        delivery.redelivered += route.tracker.counters.redelivered;
        delivery.deadLettered += route.tracker.counters.deadLettered;
        delivery.unacked += route.tracker.outstanding;
      }
    }
    return {
      ...this.counters.snapshot(),
      ...delivery,
      queued,
      pendingRequests: this.requests.size,
      connections: this.sockets.connections(),
    };
  }

  protected async dispatchEvent<T = unknown>(packet: ReadPacket): Promise<T> {
    const pattern = this.normalizePattern(packet.pattern);
    try {
      const route = this.routeFor(pattern);
      const link = this.pickLink(route);
      const record = await this.encode(pattern, packet, route, link);
      if (route.tracker === undefined) {
        await link.queue.enqueue({ kind: 'event', pattern, record });
      } else {
        await route.tracker.submit(pattern, record, packet.data);
      }
      this.counters.add('sent');
      return undefined as T;
    } catch (error) {
      this.counters.add('failed');
      this.report(error);
      throw error;
    }
  }

  protected publish(packet: ReadPacket, callback: (packet: WritePacket) => void): () => void {
    const pattern = this.normalizePattern(packet.pattern);
    let route: Route;
    try {
      route = this.routeFor(pattern);
    } catch (error) {
      this.counters.add('requestsFailed');
      callback({ err: error, isDisposed: true });
      return () => undefined;
    }
    if (route.plan.kind !== 'dealer-router') {
      this.counters.add('requestsFailed');
      callback({
        err: new ZeroMqRequestError(
          'WRONG_SOCKET_KIND',
          pattern,
          route.name,
          `send() needs a socket of kind 'dealer-router'; this one is '${route.plan.kind}' (set kind: 'dealer-router' on the client and server socket or route)`,
        ),
        isDisposed: true,
      });
      return () => undefined;
    }
    const link = this.pickLink(route);
    const id = this.requests.open(pattern, link.name, callback, this.config.requestTimeout);
    this.encode(pattern, packet, route, link)
      .then((record) => link.queue.enqueue({ kind: 'request', id, pattern, record }))
      .then(
        () => this.counters.add('requests'),
        (error: unknown) => {
          this.counters.add('requestsFailed');
          this.report(error);
          this.requests.fail(id, error as Error);
        },
      );
    return () => this.requests.cancel(id);
  }

  private async open(): Promise<void> {
    const opened = await this.sockets.open(this.linkPlans(), (plan) => this.createSocket(plan));
    // Usable means connected: wait (bounded) for a peer on each socket that connects.
    const connecting = opened.filter((socket) => socket.plan.endpoints.some((endpoint) => !endpoint.bind));
    await this.sockets.waitForPeers(connecting.map((socket) => socket.name), this.config.connectTimeout);
    const plans = this.config.sockets;
    const dealerPlans = this.linkPlans().filter((plan) => plan.kind === 'dealer-router');
    const routes: Route[] = plans.map((plan) => ({
      name: plan.name,
      patterns: plan.patterns,
      plan,
      links: [],
      tracker:
        plan.delivery === 'at-least-once'
          ? this.createTracker(plan.name, dealerPlans.filter((link) => link.route === plan.name).map((link) => link.name))
          : undefined,
    }));
    const byName = new Map(routes.map((route) => [route.name, route]));
    for (const socket of opened) {
      const link: Link = {
        name: socket.name,
        socket,
        queue: this.createQueue(socket.socket, socket.name, socket.plan.endpoints.map((e) => e.address), socket.plan.bare),
        singlePeer: socket.plan.endpoints.length === 1 && !socket.plan.endpoints[0].bind,
        tracker: byName.get(socket.plan.route)?.tracker,
      };
      const route = byName.get(socket.plan.route);
      if (route === undefined) {
        this.deadLetters = link.queue;
        continue;
      }
      route.links.push(link);
      if (socket.socket instanceof zmq.Dealer) {
        this.readLoops.push(this.readReplies(socket.socket, link));
      }
    }
    this.table = new RouteTable<Link, Route>(routes);
    // Greet every at-least-once worker at once too: a handshake may have come before the tracker
    // existed, and inproc has none. The send waits for the connection; a second hello only repeats the credit.
    for (const link of this.table.links()) {
      this.sayHello(link.name);
    }
  }

  /** One socket per PUSH route; one DEALER per endpoint of a dealer-router route, so each server is told apart. */
  private linkPlans(): LinkPlan[] {
    const links: LinkPlan[] = this.config.sockets.flatMap((plan) =>
      plan.kind === 'dealer-router' && plan.endpoints.length > 1
        ? plan.endpoints.map((endpoint, index) => ({ ...plan, name: `${plan.name}#${index + 1}`, endpoints: [endpoint], route: plan.name }))
        : [{ ...plan, route: plan.name }],
    );
    if (this.config.deadLetterEndpoints.length > 0) {
      links.push({
        name: DEAD_LETTER_SOCKET_NAME,
        kind: 'push-pull',
        endpoints: this.config.deadLetterEndpoints,
        patterns: [],
        bare: false,
        delivery: 'at-most-once',
        route: '',
      });
    }
    return links;
  }

  private createTracker(routeName: string, linkNames: string[]): DeliveryTracker {
    const { maxAttempts } = this.config;
    return new DeliveryTracker(linkNames, {
      maxQueueSize: this.config.maxQueueSize,
      ackTimeout: this.config.ackTimeout,
      maxQueueBytes: this.config.maxQueueBytes,
      maxAttempts,
      retryDelay: this.config.retryDelay,
      maxRetryDelay: this.config.maxRetryDelay,
      transmit: (linkName, delivery) =>
        this.table.link(linkName)!.queue.enqueue({ kind: 'delivery', pattern: delivery.pattern, record: delivery.record, delivery, maxAttempts }),
      onDeadLetter: (letter, delivery) => this.onDeadLetter(letter, delivery.record),
      requestCredit: (linkName) => this.sayHello(linkName),
      errors: {
        queueFull: (pattern) =>
          new ZeroMqSendError(
            'QUEUE_FULL',
            pattern,
            routeName,
            [],
            `too many messages not acknowledged yet (maxQueueSize ${this.config.maxQueueSize}, maxQueueBytes ${this.config.maxQueueBytes})`,
          ),
        deadLetter: (letter) =>
          new ZeroMqSendError('DEAD_LETTER', letter.pattern, routeName, [], `dead-lettered after ${letter.attempts} attempt(s): ${letter.reason}`),
        closed: (pattern) => new ZeroMqSendError('CLOSED', pattern, routeName, [], 'the client closed before a worker acknowledged it'),
      },
    });
  }

  private onDeadLetter(letter: ZeroMqDeadLetter, record: EncodedRecord): void {
    this.problems.warn('deadLetter', `Dead letter: "${letter.pattern}" ${letter.messageId} after ${letter.attempts} attempt(s): ${letter.reason}`);
    this.sockets.emit('dead-letter', letter);
    if (this.deadLetters !== undefined) {
      const metadata = { deadLetterReason: letter.reason, deadLetterAttempts: String(letter.attempts), messageId: letter.messageId };
      const info = record.info[0] + JSON.stringify(metadata);
      this.deadLetters
        .enqueue({ kind: 'event', pattern: letter.pattern, record: { ...record, info, size: record.size + info.length } })
        .catch((error: unknown) => this.report(error));
    }
  }

  /** Greets the worker behind a link so that it announces its credit (after every (re)connect). */
  private sayHello(linkName: string): void {
    const link = this.table.link(linkName);
    if (link?.tracker !== undefined) {
      link.queue
        .enqueue({ kind: 'hello', pattern: '(hello)', record: NO_RECORD, producerId: link.tracker.producerId })
        .catch((error: unknown) => this.problems.warn('hello', `No hello to the worker on "${linkName}" yet: ${(error as Error).message}`));
    }
  }

  private createSocket(plan: LinkPlan): zmq.Push | zmq.Dealer {
    const options = {
      ...tuningSocketOptions(this.config),
      sendTimeout: this.config.sendTimeout,
      sendHighWaterMark: this.config.sendHighWaterMark,
      immediate: this.config.immediate,
    };
    return plan.kind === 'dealer-router' ? new zmq.Dealer(options) : new zmq.Push(options);
  }

  private createQueue(socket: zmq.Push | zmq.Dealer, name: string, endpoints: string[], bare: boolean): SendQueue<Outgoing> {
    return new SendQueue<Outgoing>({
      maxQueueSize: this.config.maxQueueSize,
      overflow: this.config.overflow,
      maxQueueBytes: this.config.maxQueueBytes,
      // A bare message is one payload frame: several cannot share a ZeroMQ message.
      maxBatchSize: bare ? 1 : this.config.maxBatchSize,
      maxBatchBytes: this.config.maxBatchBytes,
      sendTimeout: this.config.sendTimeout,
      sizeOf: (item) => item.record.size,
      batchKey: (item) => item.kind,
      toError: (item: Outgoing, code: ZeroMqSendErrorCode, detail: string, cause?: unknown) =>
        new ZeroMqSendError(code, item.pattern, name, endpoints, code === 'SEND_TIMEOUT' ? this.sockets.withHandshakeFailure(name, detail) : detail, {
          cause,
        }),
      transmit: (batch) => {
        this.counters.add('batches');
        return socket.send(bare ? batch[0].record.payload : encodeBatch(batch));
      },
    });
  }

  private async readReplies(socket: zmq.Dealer, link: Link): Promise<void> {
    const linkName = link.name;
    try {
      for await (const frames of receiveLoop(socket)) {
        const message = decodeMessage(frames, { maxPatternLength: 0, maxRecordsPerMessage: Number.MAX_SAFE_INTEGER });
        if (message.kind === 'credit') {
          link.tracker?.credit(linkName, message.window);
          continue;
        }
        if (message.kind !== 'replies') {
          this.counters.add('malformedReplies');
          this.problems.warn('reply', `Dropped a message on socket "${linkName}" that is not a reply (${message.kind})`);
          continue;
        }
        for (const { reason } of message.rejected) {
          this.counters.add('malformedReplies');
          this.problems.warn('reply', `Dropped a reply on socket "${linkName}": ${reason}`);
        }
        for (const reply of message.records) {
          if (DELIVERY_STATUSES.has(reply.status)) {
            const reason = typeof reply.data === 'string' ? reply.data : '';
            if (!link.tracker?.settle(reply.id, reply.status as 'a' | 'f' | 'x', reason)) {
              this.counters.add('lateReplies');
            }
          } else {
            await this.deliverReply(reply);
          }
        }
      }
    } catch (error) {
      if (this.connection !== undefined) {
        this.problems.error('read', `Socket "${linkName}" stopped reading replies: ${(error as Error).message}`);
      }
    }
  }

  private async deliverReply(reply: DecodedReply): Promise<void> {
    const raw: WritePacket & { id: string } = { id: reply.id };
    if (reply.status === 'e') {
      raw.err = reply.data;
      raw.isDisposed = true;
    } else {
      if (reply.status !== 'c') {
        raw.response = reply.data;
      }
      if (reply.status !== 'n') {
        raw.isDisposed = true;
      }
    }
    const packet = await this.deserializer.deserialize(raw);
    if (!this.requests.deliver(reply.id, packet)) {
      this.counters.add('lateReplies');
    }
  }

  private onDisconnect(event: ZeroMqSocketEvent): void {
    const link = this.table.link(event.socket);
    if (link?.singlePeer) {
      link.tracker?.linkLost(link.name);
      const failed = this.requests.failLink(
        link.name,
        (pattern) =>
          new ZeroMqRequestError(
            'PEER_LOST',
            pattern,
            link.name,
            this.sockets.withHandshakeFailure(link.name, `the server at ${event.address} disconnected before the last reply`),
          ),
      );
      this.counters.add('requestsFailed', failed);
    }
  }

  private routeFor(pattern: string): Route {
    const route = this.table.routeFor(pattern);
    if (route === undefined) {
      const closed = this.table.routes.length === 0;
      throw new ZeroMqSendError(
        closed ? 'CLOSED' : 'NO_ROUTE',
        pattern,
        '-',
        [],
        closed ? 'the client is closed' : 'no route lists this pattern and the client has no default endpoints',
      );
    }
    return route;
  }

  /** The connected link with the least work waiting (queued + unanswered); round-robin among equals. */
  private pickLink(route: Route): Link {
    return this.table.pick(
      route,
      (link) => link.socket.connected,
      (link) => link.queue.length + link.queue.sending + this.requests.countOn(link.name),
    );
  }


  private report(error: unknown): void {
    this.problems.error('send', (error as Error).message);
    this.sockets.emit('error', error);
  }

  /** Serializes the packet (Nest serializer) and frames it for the route. */
  private async encode(pattern: string, packet: ReadPacket, route: Route, link: Link): Promise<EncodedRecord> {
    const serialized: unknown = await this.serializer.serialize(packet);
    // The default serializer returns the packet; a custom one may return the payload itself.
    const isPacket = typeof serialized === 'object' && serialized !== null && !isBinary(serialized) && 'data' in serialized;
    const payload = isPacket ? (serialized as ReadPacket).data : serialized;
    const metadata = isPacket ? ((serialized as ReadPacket).metadata ?? packet.metadata) : packet.metadata;
    try {
      return route.plan.bare ? encodeBareRecord(pattern, payload) : encodeRecord(pattern, payload, metadata);
    } catch (error) {
      throw new ZeroMqSendError(
        'SEND_FAILED',
        pattern,
        link.name,
        link.socket.configuredAddresses,
        `cannot serialize the payload: ${(error as Error).message}`,
        { cause: error },
      );
    }
  }
}
