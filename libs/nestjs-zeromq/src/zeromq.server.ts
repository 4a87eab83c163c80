import { Logger } from '@nestjs/common';
import { Server, type CustomTransportStrategy, type MessageHandler, type ReadPacket } from '@nestjs/microservices';
import { isObservable, lastValueFrom, type Observable } from 'rxjs';
import * as zmq from 'zeromq';
import { ZEROMQ_TRANSPORT } from './constants.js';
import { Counters } from './internal/counters.js';
import { settlesWithin } from './internal/deadline.js';
import { InFlight } from './internal/in-flight.js';
import type { ManagedSocket } from './internal/managed-socket.js';
import { RateLimitedLog } from './internal/rate-limited-log.js';
import { resolveServerOptions, type ResolvedServerOptions, type SocketPlan } from './internal/resolve-options.js';
import { SocketGroup, tuningSocketOptions } from './internal/socket-group.js';
import { decodeMessage, type DecodedRecord } from './internal/wire.js';
import { ZeroMqContext, type ZeroMqMessageInfo } from './zeromq.context.js';
import { ZeroMqStatus, type ZeroMqServerEvents } from './zeromq.events.js';
import type { ZeroMqServerOptions } from './zeromq.options.js';

/** Counters of a ZeroMqServer, from `getMetrics()`. */
export interface ZeroMqServerMetrics {
  /** Records received (framed or plain) and passed to the deserializer. */
  received: number;
  /** Handlers that completed. */
  handled: number;
  /** Handlers that threw, rejected or errored. */
  failed: number;
  /** Records whose pattern has no handler. */
  unknownPattern: number;
  /** Messages whose frames could not be parsed at all (wrong header, frame count, too many records). */
  malformed: number;
  /** Records rejected on their own: bad pattern, metadata or payload, or a deserializer that threw. */
  undecodable: number;
  /** Records read before `close()` whose handler had not started; they are dropped, not started. */
  droppedOnClose: number;
  /** Handlers running now. */
  inFlight: number;
}

const COUNTERS = ['received', 'handled', 'failed', 'unknownPattern', 'malformed', 'undecodable', 'droppedOnClose'] as const;

type PullSocket = ManagedSocket<zmq.Pull> & { plan: SocketPlan & { concurrency: number } };

/**
 * NestJS transport strategy that feeds `@EventPattern` handlers from ZeroMQ PULL sockets.
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
  private readonly sockets: SocketGroup<zmq.Pull>;
  private readonly problems: RateLimitedLog;
  private readonly counters = new Counters(COUNTERS);
  private readonly inFlight = new Map<string, InFlight>();
  private readonly readLoops: Array<Promise<void>> = [];
  private closing: Promise<void> | undefined;

  constructor(options: ZeroMqServerOptions) {
    super();
    this.config = resolveServerOptions(options);
    this.initializeSerializer(options);
    this.initializeDeserializer(options);
    this.sockets = new SocketGroup<zmq.Pull>((status) => this._status$.next(status), this.logger);
    this.problems = new RateLimitedLog(this.logger, this.config.logInterval);
  }

  async listen(callback: (error?: unknown) => void): Promise<void> {
    try {
      this.closing = undefined;
      const opened = await this.sockets.open(this.config.sockets, () => this.createSocket());
      this.warnAboutRoutesWithoutHandlers();
      for (const socket of opened) {
        this.readLoops.push(this.read(socket));
      }
      callback();
    } catch (error) {
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

  /** The PULL sockets by name (`'default'` and each route's name). */
  unwrap<T = Record<string, zmq.Pull>>(): T {
    if (!this.sockets.isOpen) {
      throw new Error('Not initialized. Please call the "listen"/"startAllMicroservices" method before accessing the server.');
    }
    return this.sockets.unwrap() as T;
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
    return { ...this.counters.snapshot(), inFlight };
  }

  /** Exact lookup first: patterns arrive normalized, so Nest's JSON re-parsing is the fallback. */
  override getHandlerByPattern(pattern: string): MessageHandler | null {
    return this.messageHandlers.get(pattern) ?? super.getHandlerByPattern(pattern);
  }

  private createSocket(): zmq.Pull {
    return new zmq.Pull({
      ...tuningSocketOptions(this.config),
      maxMessageSize: this.config.maxMessageSize,
      receiveHighWaterMark: this.config.receiveHighWaterMark,
    });
  }

  private async read(socket: PullSocket): Promise<void> {
    const inFlight = new InFlight(socket.plan.concurrency);
    this.inFlight.set(socket.name, inFlight);
    try {
      for await (const frames of socket.socket) {
        await this.dispatchMessage(frames, socket.name, inFlight);
      }
    } catch (error) {
      if (this.closing === undefined) {
        this.problems.error('read', `Socket "${socket.name}" stopped reading: ${(error as Error).message}`);
        this.sockets.emit('error', error);
      }
    }
  }

  private async dispatchMessage(frames: Buffer[], socketName: string, inFlight: InFlight): Promise<void> {
    const message = decodeMessage(frames, this.config);
    if (message.kind === 'malformed') {
      this.reject('malformed', `Dropped a malformed message on socket "${socketName}": ${message.reason}`);
      return;
    }
    let records: DecodedRecord[];
    let info: ZeroMqMessageInfo;
    if (message.kind === 'plain') {
      const record = this.plainRecord(message.frame, socketName);
      if (record === undefined) {
        return;
      }
      records = [record];
      info = { socket: socketName, plain: true };
    } else {
      for (const reason of message.rejected) {
        this.reject('undecodable', `Dropped a record on socket "${socketName}": ${reason}`);
      }
      records = message.records;
      info = { socket: socketName, plain: false };
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
      inFlight.track(this.handleRecord(record, info));
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
    try {
      return { pattern: plain.pattern, data: JSON.parse(text), metadata: undefined };
    } catch {
      this.reject('undecodable', `Dropped a plain message on socket "${socketName}": not valid JSON (plainMessages.decoding is 'json')`);
      return undefined;
    }
  }

  private async handleRecord(record: DecodedRecord, info: ZeroMqMessageInfo): Promise<void> {
    this.counters.add('received');
    let packet: ReadPacket;
    try {
      const deserialized = this.deserializer.deserialize(record, { channel: record.pattern });
      packet = (deserialized instanceof Promise ? await deserialized : deserialized) as ReadPacket;
    } catch (error) {
      this.reject('undecodable', `The deserializer rejected a "${record.pattern}" record: ${(error as Error).message}`);
      return;
    }
    const pattern = typeof packet.pattern === 'string' ? packet.pattern : this.normalizePattern(packet.pattern);
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
    if (await this.runHandler(handler, packet.data, context)) {
      this.counters.add('handled');
    } else {
      this.counters.add('failed');
    }
  }

  /**
   * Calls the handler inside Nest's processing hooks and waits for its outcome (promise or
   * observable). Resolves true on success; a failure was already reported by Nest's exception
   * filter, so it is only counted here.
   */
  private runHandler(handler: MessageHandler, data: unknown, context: ZeroMqContext): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      const run = this.runWithProcessingHooks(context, async (runEndHook) => {
        let succeeded = true;
        try {
          const result: unknown = await handler(data, context);
          if (isObservable(result)) {
            await lastValueFrom(result as Observable<unknown>, { defaultValue: undefined });
          }
        } catch {
          succeeded = false;
        } finally {
          runEndHook();
          resolve(succeeded);
        }
      }) as unknown;
      if (run instanceof Promise) {
        run.catch((error: unknown) => {
          this.problems.error('hook', `A processing hook failed: ${(error as Error)?.message ?? String(error)}`);
          resolve(false);
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

  private async shutdown(): Promise<void> {
    // Closing the sockets ends the read loops; handlers already running may finish, none starts.
    const deadline = Date.now() + this.config.closeTimeout;
    this.sockets.close();
    const loopsEnded = await settlesWithin(Promise.all(this.readLoops.splice(0)), this.config.closeTimeout);
    const remaining = Math.max(0, deadline - Date.now());
    const drained = await Promise.all([...this.inFlight.values()].map((tracker) => tracker.idle(remaining)));
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
