import { Logger } from '@nestjs/common';
import { ClientProxy, type ReadPacket, type WritePacket } from '@nestjs/microservices';
import * as zmq from 'zeromq';
import { Counters } from './internal/counters.js';
import { RateLimitedLog } from './internal/rate-limited-log.js';
import { resolveClientOptions, type ResolvedClientOptions } from './internal/resolve-options.js';
import { SendQueue } from './internal/send-queue.js';
import { SocketGroup, tuningSocketOptions } from './internal/socket-group.js';
import { encodeBareRecord, encodeEventsMessage, encodeRecord, isBinary, type EncodedRecord } from './internal/wire.js';
import { ZeroMqSendError, type ZeroMqSendErrorCode } from './zeromq.errors.js';
import { ZeroMqStatus, type ZeroMqClientEvents } from './zeromq.events.js';
import type { ZeroMqClientOptions } from './zeromq.options.js';

/** Counters of a ZeroMqClient, from `getMetrics()`. */
export interface ZeroMqClientMetrics {
  /** Emits handed to ZeroMQ. */
  sent: number;
  /** Emits that failed (timeout, full queue, dropped, closed, no route, serialization). */
  failed: number;
  /** ZeroMQ messages sent; `sent / batches` is the mean batch size. */
  batches: number;
  /** Emits waiting in the queues now. */
  queued: number;
}

const COUNTERS = ['sent', 'failed', 'batches'] as const;

/** What one socket's queue carries: a record and the pattern it is for (for errors). */
interface OutgoingEvent {
  pattern: string;
  record: EncodedRecord;
}

/** A PUSH socket's writer: its queue, and how it puts records on the wire. */
interface Writer {
  name: string;
  endpoints: string[];
  bare: boolean;
  queue: SendQueue<OutgoingEvent>;
}

/**
 * NestJS client that sends `emit()` calls over ZeroMQ PUSH sockets.
 *
 * ```ts
 * ClientsModule.register([
 *   { name: 'ORDERS', customClass: ZeroMqClient, options: { endpoints: ['tcp://127.0.0.1:5557'] } },
 * ]);
 * ```
 * @publicApi
 */
export class ZeroMqClient extends ClientProxy<ZeroMqClientEvents, ZeroMqStatus> {
  protected readonly logger = new Logger(ZeroMqClient.name);

  private readonly config: ResolvedClientOptions;
  private readonly sockets: SocketGroup<zmq.Push>;
  private readonly problems: RateLimitedLog;
  private readonly counters = new Counters(COUNTERS);
  private connection: Promise<void> | undefined;
  private writers: Writer[] = [];
  private writersByPattern = new Map<string, Writer>();
  private defaultWriter: Writer | undefined;

  constructor(options: ZeroMqClientOptions) {
    super();
    this.config = resolveClientOptions(options);
    this.initializeSerializer(options);
    this.initializeDeserializer(options);
    this.sockets = new SocketGroup<zmq.Push>((status) => this._status$.next(status), this.logger);
    this.problems = new RateLimitedLog(this.logger, this.config.logInterval);
  }

  /** Opens the sockets once; `emit()` calls it for you. A failed open is retried by the next call. */
  connect(): Promise<void> {
    this.connection ??= this.open().catch((error: unknown) => {
      this.connection = undefined;
      throw error;
    });
    return this.connection;
  }

  /**
   * Sends what is queued (at most `closeTimeout` ms), fails the rest with `CLOSED`, closes the
   * sockets and resolves with the number of emits that were not sent.
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
    const writers = this.writers;
    this.writers = [];
    this.writersByPattern = new Map();
    this.defaultWriter = undefined;
    const dropped = (await Promise.all(writers.map((writer) => writer.queue.drain(this.config.closeTimeout)))).reduce(
      (sum, count) => sum + count,
      0,
    );
    this.sockets.close();
    if (dropped > 0) {
      this.logger.warn(`Closed with ${dropped} emit(s) not sent within closeTimeout (${this.config.closeTimeout} ms)`);
    }
    return dropped;
  }

  override on<K extends keyof ZeroMqClientEvents>(event: K, callback: ZeroMqClientEvents[K]): void {
    this.sockets.on(event, callback);
  }

  /** The PUSH sockets by name (`'default'` and each route's name). */
  unwrap<T = Record<string, zmq.Push>>(): T {
    if (!this.sockets.isOpen) {
      throw new Error('Not initialized. Please call the "connect" method first.');
    }
    return this.sockets.unwrap() as T;
  }

  /** Actual addresses by socket name; a bound `tcp://127.0.0.1:*` shows its OS-chosen port. */
  getAddresses(): Record<string, string[]> {
    return this.sockets.addresses();
  }

  getMetrics(): ZeroMqClientMetrics {
    const queued = this.writers.reduce((sum, writer) => sum + writer.queue.length + writer.queue.sending, 0);
    return { ...this.counters.snapshot(), queued };
  }

  protected async dispatchEvent<T = unknown>(packet: ReadPacket): Promise<T> {
    const pattern = this.normalizePattern(packet.pattern);
    try {
      const writer = this.writerFor(pattern);
      const record = await this.encode(pattern, packet, writer);
      await writer.queue.enqueue({ pattern, record });
      this.counters.add('sent');
      return undefined as T;
    } catch (error) {
      this.counters.add('failed');
      this.problems.error('emit', (error as Error).message);
      this.sockets.emit('error', error);
      throw error;
    }
  }

  /** Request-response is not supported yet: `send()` fails at once instead of waiting forever. */
  protected publish(_packet: ReadPacket, callback: (packet: WritePacket) => void): () => void {
    callback({
      err: new Error(
        'ZeroMqClient supports emit() (events) only; send() needs request-response, which this version does not have',
      ),
      isDisposed: true,
    });
    return () => undefined;
  }

  private async open(): Promise<void> {
    const opened = await this.sockets.open(this.config.sockets, () => this.createSocket());
    this.writers = opened.map(({ socket, plan }) => this.createWriter(socket, plan.name, plan.endpoints.map((e) => e.address), plan.bare));
    this.writersByPattern = new Map();
    this.defaultWriter = undefined;
    for (const [index, { plan }] of opened.entries()) {
      if (plan.patterns.length === 0) {
        this.defaultWriter = this.writers[index];
      }
      for (const pattern of plan.patterns) {
        this.writersByPattern.set(pattern, this.writers[index]);
      }
    }
  }

  private createSocket(): zmq.Push {
    return new zmq.Push({
      ...tuningSocketOptions(this.config),
      sendTimeout: this.config.sendTimeout,
      sendHighWaterMark: this.config.sendHighWaterMark,
      immediate: this.config.immediate,
    });
  }

  private createWriter(socket: zmq.Push, name: string, endpoints: string[], bare: boolean): Writer {
    const toError = (event: OutgoingEvent, code: ZeroMqSendErrorCode, detail: string, cause?: unknown) =>
      new ZeroMqSendError(code, event.pattern, name, endpoints, detail, { cause });
    const queue = new SendQueue<OutgoingEvent>({
      maxQueueSize: this.config.maxQueueSize,
      overflow: this.config.overflow,
      // A bare message is one payload frame: several cannot share a ZeroMQ message.
      maxBatchSize: bare ? 1 : this.config.maxBatchSize,
      maxBatchBytes: this.config.maxBatchBytes,
      sendTimeout: this.config.sendTimeout,
      sizeOf: (event) => event.record.size,
      toError,
      transmit: (batch) => {
        this.counters.add('batches');
        return socket.send(bare ? batch[0].record.payload : encodeEventsMessage(batch.map((event) => event.record)));
      },
    });
    return { name, endpoints, bare, queue };
  }

  private writerFor(pattern: string): Writer {
    const writer = this.writersByPattern.get(pattern) ?? this.defaultWriter;
    if (writer === undefined) {
      throw new ZeroMqSendError(
        this.writers.length === 0 ? 'CLOSED' : 'NO_ROUTE',
        pattern,
        '-',
        [],
        this.writers.length === 0
          ? 'the client is closed'
          : 'no route lists this pattern and the client has no default endpoints',
      );
    }
    return writer;
  }

  /** Serializes the packet (Nest serializer) and frames it for the writer's socket. */
  private async encode(pattern: string, packet: ReadPacket, writer: Writer): Promise<EncodedRecord> {
    const serialized: unknown = await this.serializer.serialize(packet);
    // The default serializer returns the packet; a custom one may return the payload itself.
    const isPacket = typeof serialized === 'object' && serialized !== null && !isBinary(serialized) && 'data' in serialized;
    const payload = isPacket ? (serialized as ReadPacket).data : serialized;
    const metadata = isPacket ? ((serialized as ReadPacket).metadata ?? packet.metadata) : packet.metadata;
    try {
      return writer.bare ? encodeBareRecord(pattern, payload) : encodeRecord(pattern, payload, metadata);
    } catch (error) {
      throw new ZeroMqSendError('SEND_FAILED', pattern, writer.name, writer.endpoints, `cannot serialize the payload: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }
}
