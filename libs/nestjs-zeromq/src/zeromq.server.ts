import { Logger } from '@nestjs/common';
import {
  Server,
  type CustomTransportStrategy,
  type MessageHandler,
  type ReadPacket,
  type WritePacket,
} from '@nestjs/microservices';
import { isObservable, lastValueFrom, type Observable } from 'rxjs';
import * as zmq from 'zeromq';
import {
  DEFAULT_MAX_BATCH_BYTES,
  DEFAULT_MAX_BATCH_SIZE,
  MAX_REMEMBERED_PRODUCERS,
  NO_MESSAGE_HANDLER,
  ZEROMQ_TRANSPORT,
} from './constants.js';
import { BoundedMap } from './internal/bounded-map.js';
import { DeliveryLedger } from './internal/delivery-ledger.js';
import { ClientAuthorization } from './internal/client-authorization.js';
import { Counters } from './internal/counters.js';
import { settlesWithin } from './internal/deadline.js';
import { InFlight } from './internal/in-flight.js';
import type { ManagedSocket } from './internal/managed-socket.js';
import { RateLimitedLog } from './internal/rate-limited-log.js';
import { receiveLoop } from './internal/receive-loop.js';
import { ReplyWriter } from './internal/reply-writer.js';
import { parsePeerJson } from './internal/safe-json.js';
import { resolveServerOptions, type ResolvedServerOptions, type SocketPlan } from './internal/resolve-options.js';
import { SocketGroup, tuningSocketOptions } from './internal/socket-group.js';
import {
  decodeMessage,
  encodeReply,
  replyOf,
  type DecodedDelivery,
  type DecodedRecord,
  type DecodedRequest,
  type EncodedReply,
} from './internal/wire.js';
import { ZeroMqContext, type ZeroMqMessageInfo } from './zeromq.context.js';
import { ZeroMqStatus, type ZeroMqDeadLetter, type ZeroMqServerEvents } from './zeromq.events.js';
import type { ZeroMqServerOptions } from './zeromq.options.js';

/** Counters of a ZeroMqServer, from `getMetrics()`. */
export interface ZeroMqServerMetrics {
  /** Records received (events and requests, framed or plain) and passed to the deserializer. */
  received: number;
  /** Handlers that completed (for requests: the response stream completed). */
  handled: number;
  /** Handlers that threw, rejected or errored. */
  failed: number;
  /** Records whose pattern has no handler (a request gets Nest's "no matching message handler" error). */
  unknownPattern: number;
  /** Replies that could not be sent (reply queue full, or the socket closed first). */
  repliesFailed: number;
  /** At-least-once deliveries already handled (or running) here, acked again and not run twice. */
  duplicates: number;
  /** At-least-once deliveries that failed their last attempt here, or were refused for good. */
  deadLettered: number;
  /** Messages whose frames could not be parsed at all (wrong header, frame count, too many records). */
  malformed: number;
  /** Records rejected on their own: bad pattern, metadata or payload, or a deserializer that threw. */
  undecodable: number;
  /** Records read before `close()` whose handler had not started; they are dropped, not started. */
  droppedOnClose: number;
  /** CURVE clients rejected by `curve.allowClients` (each rejected connection attempt). */
  unauthorized: number;
  /** Handlers running now. */
  inFlight: number;
  /** Live connections per socket name, from the socket monitor. */
  connections: Record<string, number>;
}

const COUNTERS = [
  'received',
  'handled',
  'failed',
  'unknownPattern',
  'malformed',
  'undecodable',
  'droppedOnClose',
  'repliesFailed',
  'duplicates',
  'deadLettered',
  'unauthorized',
] as const;

/** How a handler run ended: Nest's exception filter turns a failure into an error value. */
type HandlerOutcome = { ok: true } | { ok: false; error: unknown };

type ServerSocket = ManagedSocket<zmq.Pull | zmq.Router> & { plan: SocketPlan & { concurrency: number } };

/** Where a message came from: the socket, and for a ROUTER the peer to reply to. */
interface Origin {
  socket: string;
  replies: ReplyWriter | undefined;
  peer: Buffer | undefined;
}

/**
 * NestJS transport strategy that feeds `@EventPattern` handlers from ZeroMQ PULL sockets, and
 * answers `@MessagePattern` requests on ROUTER sockets (`kind: 'dealer-router'`).
 *
 * ```ts
 * const app = await NestFactory.createMicroservice(WorkerModule, {
 *   strategy: new ZeroMqServer({ endpoints: ['tcp://0.0.0.0:5557'] }),
 * });
 * ```
 * @publicApi
 */
export class ZeroMqServer extends Server<ZeroMqServerEvents, ZeroMqStatus> implements CustomTransportStrategy {
  override transportId = ZEROMQ_TRANSPORT;
  protected override readonly logger = new Logger(ZeroMqServer.name);

  private readonly config: ResolvedServerOptions;
  private readonly sockets: SocketGroup<zmq.Pull | zmq.Router>;
  private readonly replyWriters = new Map<string, ReplyWriter>();
  /** Producers that said hello, per ROUTER socket: told "credit 0" on close. */
  private readonly producers = new Map<string, BoundedMap<string, Buffer>>();
  /** Deliveries running and completed here: redeliveries are not run twice. */
  private readonly deliveries: DeliveryLedger;
  private readonly problems: RateLimitedLog;
  private readonly counters = new Counters(COUNTERS);
  /** `curve.allowClients`, enforced through ZAP; undefined without an allow-list. */
  private readonly authorization: ClientAuthorization | undefined;
  private readonly inFlight = new Map<string, InFlight>();
  private readonly readLoops: Array<Promise<void>> = [];
  private closing: Promise<void> | undefined;

  constructor(options: ZeroMqServerOptions) {
    super();
    this.config = resolveServerOptions(options);
    this.initializeSerializer(options);
    this.initializeDeserializer(options);
    this.problems = new RateLimitedLog(this.logger, this.config.logInterval);
    this.sockets = new SocketGroup<zmq.Pull | zmq.Router>((status) => this._status$.next(status), this.logger, this.problems);
    this.authorization = ClientAuthorization.of(this.config.curve, (client) => {
      this.counters.add('unauthorized');
      this.problems.warn('unauthorized', `Rejected CURVE client ${client.publicKey} from ${client.address}: ${client.reason}`);
      this.sockets.emit('unauthorized', client);
    });
    this.deliveries = new DeliveryLedger(this.config.dedupeWindow);
  }

  async listen(callback: (error?: unknown) => void): Promise<void> {
    try {
      this.closing = undefined;
      // Before the sockets open: no client may connect while nobody checks it.
      await this.authorization?.start();
      const opened = await this.sockets.open(this.config.sockets, (plan) => this.createSocket(plan));
      this.warnAboutRoutesWithoutHandlers();
      for (const socket of opened) {
        this.readLoops.push(this.read(socket));
      }
      callback();
    } catch (error) {
      this.authorization?.stop();
      callback(error);
    }
  }

  /**
   * Stops reading, lets running handlers finish (at most `closeTimeout` ms), then closes the
   * sockets. No handler starts after it resolves.
   */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  on<K extends keyof ZeroMqServerEvents>(event: K, callback: ZeroMqServerEvents[K]): void {
    this.sockets.on(event, callback);
  }

  /** The PULL / ROUTER sockets by name (`'default'` and each route's name). */
  unwrap<T = Record<string, zmq.Pull | zmq.Router>>(): T {
    return this.sockets.unwrap('Not initialized. Please call the "listen"/"startAllMicroservices" method before accessing the server.') as T;
  }

  /** Actual addresses by socket name; a bound `tcp://127.0.0.1:*` shows its OS-chosen port. */
  getAddresses(): Record<string, string[]> {
    return this.sockets.addresses();
  }

  getMetrics(): ZeroMqServerMetrics {
    let inFlight = 0;
    for (const tracker of this.inFlight.values()) {
      inFlight += tracker.size;
    }
    return { ...this.counters.snapshot(), inFlight, connections: this.sockets.connections() };
  }

  /** Exact lookup first: patterns arrive normalized, so Nest's JSON re-parsing is the fallback. */
  override getHandlerByPattern(pattern: string): MessageHandler | null {
    return this.messageHandlers.get(pattern) ?? super.getHandlerByPattern(pattern);
  }

  private createSocket(plan: SocketPlan): zmq.Pull | zmq.Router {
    const options = {
      ...tuningSocketOptions(this.config),
      maxMessageSize: this.config.maxMessageSize,
      receiveHighWaterMark: this.config.receiveHighWaterMark,
    };
    if (plan.kind === 'push-pull') {
      return new zmq.Pull(options);
    }
    const router = new zmq.Router(options);
    this.producers.set(plan.name, new BoundedMap(MAX_REMEMBERED_PRODUCERS));
    this.replyWriters.set(
      plan.name,
      new ReplyWriter(router, plan.name, { maxBatchSize: DEFAULT_MAX_BATCH_SIZE, maxBatchBytes: DEFAULT_MAX_BATCH_BYTES }),
    );
    return router;
  }

  private async read(socket: ServerSocket): Promise<void> {
    const inFlight = new InFlight(socket.plan.concurrency);
    this.inFlight.set(socket.name, inFlight);
    const replies = this.replyWriters.get(socket.name);
    // A ROUTER prefixes every message with the sender's routing id.
    const routed = replies !== undefined;
    try {
      for await (const frames of receiveLoop(socket.socket)) {
        const origin: Origin = { socket: socket.name, replies, peer: routed ? frames[0] : undefined };
        await this.dispatchMessage(frames, routed ? 1 : 0, origin, inFlight);
      }
    } catch (error) {
      if (this.closing === undefined) {
        this.problems.error('read', `Socket "${socket.name}" stopped reading: ${(error as Error).message}`);
        this.sockets.emit('error', error);
      }
    }
  }

  private async dispatchMessage(frames: Buffer[], offset: number, origin: Origin, inFlight: InFlight): Promise<void> {
    const message = decodeMessage(frames, this.config, offset);
    const socketName = origin.socket;
    let start: (record: DecodedRecord) => Promise<void>;
    let records: DecodedRecord[];
    switch (message.kind) {
      case 'malformed':
        this.reject('malformed', `Dropped a malformed message on socket "${socketName}": ${message.reason}`);
        return;
      case 'replies':
      case 'credit':
        this.reject('malformed', `Dropped a ${message.kind} message on socket "${socketName}": a server does not take those`);
        return;
      case 'hello': {
        const { replies, peer } = origin;
        if (replies === undefined || peer === undefined) {
          this.reject('malformed', `Dropped a hello on socket "${socketName}": at-least-once needs kind 'dealer-router'`);
          return;
        }
        this.producers.get(socketName)!.set(peer.toString('latin1'), peer);
        void replies.sendCredit(peer, this.closing === undefined ? this.inFlight.get(socketName)!.limit : 0).catch((error: Error) => {
          this.problems.warn('reply', error.message);
        });
        return;
      }
      case 'deliveries': {
        const { replies, peer } = origin;
        if (replies === undefined || peer === undefined) {
          this.reject('malformed', `Dropped a deliveries message on socket "${socketName}": at-least-once needs kind 'dealer-router'`);
          return;
        }
        this.rejectRecords(message.rejected, socketName);
        for (const { id, reason } of message.rejected) {
          if (id !== undefined) {
            this.deadLetter({ pattern: '?', messageId: id, attempts: 0, reason: `undecodable: ${reason}` });
            void this.acknowledge(replies, peer, id, 'x', reason);
          }
        }
        records = message.records;
        start = (delivery) =>
          this.handleDelivery(delivery as DecodedDelivery, { socket: socketName, plain: false }, replies, peer);
        break;
      }
      case 'plain': {
        const record = this.plainRecord(message.frame, socketName);
        if (record === undefined) {
          return;
        }
        records = [record];
        start = (event) => this.handleEventRecord(event, { socket: socketName, plain: true });
        break;
      }
      case 'events':
        this.rejectRecords(message.rejected, socketName);
        records = message.records;
        start = (event) => this.handleEventRecord(event, { socket: socketName, plain: false });
        break;
      case 'requests': {
        const { replies, peer } = origin;
        if (replies === undefined || peer === undefined) {
          this.reject('malformed', `Dropped a requests message on socket "${socketName}": requests need kind 'dealer-router'`);
          return;
        }
        this.rejectRecords(message.rejected, socketName);
        for (const { id, reason } of message.rejected) {
          if (id !== undefined) {
            void this.reply(replies, peer, id, { err: { status: 'error', message: `Undecodable request: ${reason}` } });
          }
        }
        records = message.records;
        start = (request) => this.answerRequest(request as DecodedRequest, { socket: socketName, plain: false }, replies, peer);
        break;
      }
    }
    for (const record of records) {
      const wait = inFlight.slot();
      if (wait !== undefined) {
        await wait;
      }
      if (this.closing !== undefined) {
        this.counters.add('droppedOnClose');
        continue;
      }
      inFlight.track(start(record));
    }
  }

  private rejectRecords(rejected: ReadonlyArray<{ reason: string }>, socketName: string): void {
    for (const { reason } of rejected) {
      this.reject('undecodable', `Dropped a record on socket "${socketName}": ${reason}`);
    }
  }

  private plainRecord(frame: Buffer, socketName: string): DecodedRecord | undefined {
    const plain = this.config.plainMessages;
    if (plain === undefined) {
      this.reject(
        'malformed',
        `Dropped a single-frame message on socket "${socketName}": it has no "NZ1E" header; set the plainMessages option to accept plain ZeroMQ messages`,
      );
      return undefined;
    }
    if (plain.decoding === 'buffer') {
      return { pattern: plain.pattern, data: frame, metadata: undefined };
    }
    const text = frame.toString('utf8');
    if (plain.decoding === 'utf8') {
      return { pattern: plain.pattern, data: text, metadata: undefined };
    }
    const parsed = parsePeerJson(text);
    if ('error' in parsed) {
      this.reject('undecodable', `Dropped a plain message on socket "${socketName}": it ${parsed.error} (plainMessages.decoding is 'json')`);
      return undefined;
    }
    return { pattern: plain.pattern, data: parsed.value, metadata: undefined };
  }

  /** Deserializes a record into a Nest packet; undefined (counted and logged) if the deserializer throws. */
  private async toPacket(record: DecodedRecord): Promise<ReadPacket | undefined> {
    this.counters.add('received');
    try {
      const deserialized = this.deserializer.deserialize(record, { channel: record.pattern });
      return (deserialized instanceof Promise ? await deserialized : deserialized) as ReadPacket;
    } catch (error) {
      this.reject('undecodable', `The deserializer rejected a "${record.pattern}" record: ${(error as Error).message}`);
      return undefined;
    }
  }

  private patternOf(packet: ReadPacket): string {
    return typeof packet.pattern === 'string' ? packet.pattern : this.normalizePattern(packet.pattern);
  }

  private async handleEventRecord(record: DecodedRecord, info: ZeroMqMessageInfo): Promise<void> {
    const packet = await this.toPacket(record);
    if (packet === undefined) {
      return;
    }
    const pattern = this.patternOf(packet);
    const handler = this.getHandlerByPattern(pattern);
    if (handler === null) {
      this.counters.add('unknownPattern');
      this.problems.warn(
        'unknownPattern',
        `There is no matching event handler defined in the remote service. Event pattern: ${pattern}`,
      );
      return;
    }
    const context = new ZeroMqContext([pattern, packet.metadata, info]);
    this.counters.add((await this.runHandler(handler, packet.data, context)).ok ? 'handled' : 'failed');
  }

  /**
   * Runs an at-least-once delivery at most once at a time and acks it once its handler succeeded;
   * a failure is reported ('f', the producer retries) and a delivery that cannot succeed here is
   * refused for good ('x'). A redelivery of a handled message is acked without running again.
   */
  private async handleDelivery(delivery: DecodedDelivery, info: ZeroMqMessageInfo, replies: ReplyWriter, peer: Buffer): Promise<void> {
    const { id, attempt, maxAttempts } = delivery;
    const admission = this.deliveries.admit(id);
    if (admission !== 'run') {
      this.counters.add('duplicates');
      if (admission === 'ack-again') {
        await this.acknowledge(replies, peer, id, 'a');
      }
      return;
    }
    let succeeded = false;
    try {
      const packet = await this.toPacket(delivery);
      const pattern = packet === undefined ? delivery.pattern : this.patternOf(packet);
      const handler = packet === undefined ? null : this.getHandlerByPattern(pattern);
      if (packet === undefined || handler === null) {
        const reason = packet === undefined ? 'undecodable' : 'no handler';
        if (packet !== undefined) {
          this.counters.add('unknownPattern');
          this.problems.warn('unknownPattern', `There is no matching event handler defined in the remote service. Event pattern: ${pattern}`);
        }
        this.deadLetter({ pattern, messageId: id, attempts: attempt, reason });
        await this.acknowledge(replies, peer, id, 'x', reason);
        return;
      }
      const context = new ZeroMqContext([pattern, packet.metadata, { ...info, messageId: id, attempt, maxAttempts }]);
      const outcome = await this.runHandler(handler, packet.data, context);
      succeeded = outcome.ok;
      if (outcome.ok) {
        this.counters.add('handled');
        await this.acknowledge(replies, peer, id, 'a');
        return;
      }
      this.counters.add('failed');
      const reason = describeError(outcome.error);
      if (attempt >= maxAttempts) {
        this.deadLetter({ pattern, messageId: id, attempts: attempt, reason });
      }
      await this.acknowledge(replies, peer, id, 'f', reason);
    } finally {
      this.deliveries.finish(id, succeeded);
    }
  }

  private deadLetter(letter: ZeroMqDeadLetter): void {
    this.counters.add('deadLettered');
    this.problems.warn('deadLetter', `Dead letter: "${letter.pattern}" ${letter.messageId} after ${letter.attempts} attempt(s): ${letter.reason}`);
    this.sockets.emit('dead-letter', letter);
  }

  /**
   * Runs a request's handler through Nest's `handleRequest` (processing hooks, response stream,
   * ordered replies) and resolves once the stream has ended, so that it counts as in flight.
   */
  private async answerRequest(request: DecodedRequest, info: ZeroMqMessageInfo, replies: ReplyWriter, peer: Buffer): Promise<void> {
    const packet = await this.toPacket(request);
    if (packet === undefined) {
      await this.reply(replies, peer, request.id, { err: { status: 'error', message: 'Undecodable request' } });
      return;
    }
    const pattern = this.patternOf(packet);
    const handler = this.getHandlerByPattern(pattern);
    if (handler === null) {
      this.counters.add('unknownPattern');
      this.problems.warn('unknownPattern', `${NO_MESSAGE_HANDLER} Message pattern: ${pattern}`);
      await this.reply(replies, peer, request.id, { err: NO_MESSAGE_HANDLER, isDisposed: true });
      return;
    }
    const context = new ZeroMqContext([pattern, packet.metadata, info]);
    await new Promise<void>((resolve) => {
      const respond = (response: WritePacket) => {
        const last = response.isDisposed === true || response.err !== undefined;
        if (last) {
          this.counters.add(response.err === undefined ? 'handled' : 'failed');
        }
        return this.reply(replies, peer, request.id, response).finally(() => last && resolve());
      };
      const run = this.handleRequest(
        context,
        async () => this.transformToObservable(await handler(packet.data, context)),
        respond,
      ) as unknown;
      if (run instanceof Promise) {
        run.catch((error: unknown) => {
          this.problems.error('hook', `A request handler could not run: ${(error as Error)?.message ?? String(error)}`);
          void respond({ err: { status: 'error', message: 'Internal server error' } });
        });
      }
    });
  }

  /** Serializes a response packet (Nest serializer) and queues it for the requesting peer. */
  private async reply(replies: ReplyWriter, peer: Buffer, id: string, response: WritePacket): Promise<void> {
    const { status, payload } = replyOf((await this.serializer.serialize({ ...response, id })) as WritePacket);
    let encoded: EncodedReply;
    try {
      encoded = encodeReply(id, status, payload);
    } catch (error) {
      encoded = encodeReply(id, 'e', { status: 'error', message: `Response not serializable: ${(error as Error).message}` });
    }
    await this.sendReply(replies, peer, encoded);
  }

  /** Answers an at-least-once delivery: 'a' handled, 'f' failed (may be retried), 'x' refused for good. */
  private acknowledge(replies: ReplyWriter, peer: Buffer, id: string, status: 'a' | 'f' | 'x', reason?: string): Promise<void> {
    return this.sendReply(replies, peer, encodeReply(id, status, reason));
  }

  private async sendReply(replies: ReplyWriter, peer: Buffer, reply: EncodedReply): Promise<void> {
    try {
      await replies.send(peer, reply);
    } catch (error) {
      this.counters.add('repliesFailed');
      this.problems.warn('reply', (error as Error).message);
    }
  }

  /**
   * Calls the handler inside Nest's processing hooks and waits for its outcome (promise or
   * observable). A failure was already reported by Nest's exception filter; the outcome carries
   * the error value for at-least-once retries and dead letters.
   */
  private runHandler(handler: MessageHandler, data: unknown, context: ZeroMqContext): Promise<HandlerOutcome> {
    return new Promise<HandlerOutcome>((resolve) => {
      const run = this.runWithProcessingHooks(context, async (runEndHook) => {
        let outcome: HandlerOutcome = { ok: true };
        try {
          const result: unknown = await handler(data, context);
          if (isObservable(result)) {
            await lastValueFrom(result as Observable<unknown>, { defaultValue: undefined });
          }
        } catch (error) {
          outcome = { ok: false, error };
        } finally {
          runEndHook();
          resolve(outcome);
        }
      }) as unknown;
      if (run instanceof Promise) {
        run.catch((error: unknown) => {
          this.problems.error('hook', `A processing hook failed: ${describeError(error)}`);
          resolve({ ok: false, error });
        });
      }
    });
  }

  private reject(kind: 'malformed' | 'undecodable', message: string): void {
    this.counters.add(kind);
    this.problems.warn(kind, message);
  }

  private warnAboutRoutesWithoutHandlers(): void {
    for (const plan of this.config.sockets) {
      for (const pattern of plan.patterns) {
        if (this.getHandlerByPattern(pattern) === null) {
          this.logger.warn(`Route "${plan.name}" lists pattern "${pattern}", which has no @EventPattern handler here`);
        }
      }
    }
  }

  /** Tells every producer that said hello to send no more deliveries here. */
  private withdrawCredit(): void {
    for (const [socketName, producers] of this.producers) {
      const replies = this.replyWriters.get(socketName);
      for (const peer of producers.values()) {
        void replies?.sendCredit(peer, 0).catch(() => undefined);
      }
    }
  }

  private async shutdown(): Promise<void> {
    // Closing the sockets ends the read loops; handlers already running may finish, none starts.
    // Replies of running requests still go out: ROUTER sockets close after them.
    const deadline = Date.now() + this.config.closeTimeout;
    this.withdrawCredit();
    this.sockets.detach('push-pull');
    const remaining = () => Math.max(0, deadline - Date.now());
    const drained = await Promise.all([...this.inFlight.values()].map((tracker) => tracker.idle(remaining())));
    const repliesLeft = await Promise.all([...this.replyWriters.values()].map((writer) => writer.drain(remaining())));
    this.counters.add('repliesFailed', repliesLeft.reduce((sum, count) => sum + count, 0));
    this.replyWriters.clear();
    this.producers.clear();
    this.sockets.close();
    this.authorization?.stop();
    const loopsEnded = await settlesWithin(Promise.all(this.readLoops.splice(0)), remaining());
    if (!loopsEnded || drained.includes(false)) {
      this.logger.warn(
        `Closed with ${this.getMetrics().inFlight} handler(s) still running after closeTimeout (${this.config.closeTimeout} ms)`,
      );
    }
    const dropped = this.counters.get('droppedOnClose');
    if (dropped > 0) {
      this.logger.warn(`${dropped} received record(s) were not started because the server was closing`);
    }
    this.inFlight.clear();
    this._status$.next(ZeroMqStatus.CLOSED);
  }
}

/** A handler's error as one line: Nest's RPC error objects carry a `message`. */
function describeError(error: unknown): string {
  if (typeof error === 'string') {
    return error;
  }
  const message = (error as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? message : JSON.stringify(error) ?? String(error);
}
