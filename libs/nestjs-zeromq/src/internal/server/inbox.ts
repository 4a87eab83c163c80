import type { MessageHandler } from '@nestjs/microservices';
import type * as zmq from 'zeromq';
import { NO_EVENT_HANDLER } from '../../constants.js';
import { ZeroMqContext, type ZeroMqMessageInfo } from '../../zeromq.context.js';
import { decodeMessage, expiresAtOf, keyOf, type DecodedMessage, type DecodedRecord, type DecodeLimits } from '../protocol/wire.js';
import { parsePeerJson } from '../protocol/safe-json.js';
import type { ManagedSocket } from '../sockets/managed-socket.js';
import { messageBytes, receiveLoop } from '../sockets/receive-loop.js';
import type { Counters } from '../util/counters.js';
import { Dispatcher } from './dispatcher.js';
import { describeError, runHandler, type HandlerOutcome } from './handler-run.js';
import type { InboxHost, RoutedPacket } from './inbox-host.js';
import { ReceiveBudget } from './receive-budget.js';
import type { ServerSocketPlan } from '../options/plans.js';
import { serverCounters, type ServerCounter } from './server-counters.js';
import type { ServerState } from './server-state.js';

/** Milliseconds between looks at whether a closing socket still holds unread messages. */
const UNREAD_POLL_INTERVAL = 5;

/**
 * One server socket and everything that happens to what it receives, whatever its kind: the read
 * loop, decoding, the handlers' concurrency and read-ahead (Dispatcher), and the socket's
 * counters. The base of each kind's inbox (PullInbox, RouterInbox, SubInbox): it takes events
 * (framed or plain); a kind whose socket carries more (requests, deliveries) handles those in
 * `receiveOther`.
 */
export abstract class Inbox {
  readonly counters: Counters<ServerCounter> = serverCounters();
  readonly dispatcher: Dispatcher;
  /** Whether the read loop runs (false before `start()`, after an error that ended it, after close). */
  reading = false;
  /** Frames in front of the header (a ROUTER's routing id, a broadcast's topic and stamp). */
  protected abstract readonly routingFrames: number;
  /** The server's state (closing, timed, hooked), read on every record. */
  protected readonly state: ServerState;
  /** Whether answers wait to be sent (see `receiveLoop`); an inbox that answers nothing has none. */
  protected readonly answersWaiting: (() => boolean) | undefined = undefined;
  private readonly eventInfo: ZeroMqMessageInfo;
  private readonly plainInfo: ZeroMqMessageInfo;
  private readLoop: Promise<void> | undefined;
  /** Bytes of the message being dispatched: its records share them. */
  private messageSize = 0;

  constructor(
    readonly managed: ManagedSocket<zmq.Socket, ServerSocketPlan>,
    protected readonly host: InboxHost,
    concurrency: number,
  ) {
    const budget = managed.plan.receiveBudget;
    const headroom = host.config.maxMessageSize < 0 ? 0 : Math.min(host.config.maxMessageSize, budget);
    this.dispatcher = new Dispatcher(concurrency, host.config.prefetch, new ReceiveBudget(budget, headroom));
    this.state = host.state;
    this.eventInfo = { socket: managed.name, plain: false };
    this.plainInfo = { socket: managed.name, plain: true };
  }

  get name(): string {
    return this.managed.name;
  }

  /** Starts reading; `stopped()` resolves when the loop has ended. */
  start(): void {
    this.readLoop = this.read();
  }

  stopped(): Promise<void> {
    return this.readLoop ?? Promise.resolve();
  }

  /**
   * The server is closing: producers are to stop sending here (a PULL socket stops taking
   * connections), and the records read but not started are dropped (and counted).
   */
  stopTaking(): void {
    this.managed.detach();
    this.counters.add('droppedOnClose', this.dispatcher.dropWaiting());
  }

  /**
   * Waits, at most `timeout` ms, until the socket holds nothing unread: the read loop counts what
   * it reads while the server closes as dropped, so that messages ZeroMQ had already taken for this
   * worker are counted rather than lost with the socket. (What is still on its way, in a producer's
   * pipe or the kernel's buffers, is not this socket's to count.)
   */
  async readRemaining(timeout: number): Promise<void> {
    const giveUpAt = Date.now() + timeout;
    const socket = this.managed.socket;
    while (this.reading && !socket.closed && socket.readable && Date.now() < giveUpAt) {
      await new Promise((resolve) => setTimeout(resolve, UNREAD_POLL_INTERVAL));
    }
  }

  /** Sends what the socket still owes its peers, at most `timeout` ms (replies; nothing here). */
  async flush(_timeout: number): Promise<void> {}

  protected reject(kind: 'malformed' | 'undecodable', message: string): void {
    this.counters.add(kind);
    this.host.problems.warn(kind, message);
  }

  /** What a received message is; a kind whose messages carry more in front (a broadcast's topic) checks that here. */
  protected decode(frames: Buffer[], limits: DecodeLimits, offset: number): DecodedMessage {
    return decodeMessage(frames, limits, offset);
  }

  /** The pattern of a plain message: `plainMessages.pattern` (a broadcast: its topic). */
  protected plainPattern(_frames: Buffer[], configured: string): string {
    return configured;
  }

  /** Messages of a kind this socket does not take; subclasses take theirs and call this for the rest. */
  protected receiveOther(message: Exclude<DecodedMessage, { kind: 'events' | 'plain' | 'malformed' }>, _frames: Buffer[]): void {
    this.reject(
      'malformed',
      `Dropped a ${message.kind} message on socket "${this.name}": a '${this.managed.kind}' socket does not take those`,
    );
  }

  /**
   * A received record as Nest sees it: packet, pattern and handler, in one call to the server;
   * undefined (counted and logged) if the deserializer throws.
   */
  protected routed(record: DecodedRecord): RoutedPacket | undefined | Promise<RoutedPacket | undefined> {
    this.counters.add('received');
    try {
      const routed = this.host.route(record);
      return routed instanceof Promise ? routed.catch((error: unknown) => this.undeserializable(record, error)) : routed;
    } catch (error) {
      return this.undeserializable(record, error);
    }
  }

  /** Counts and logs an event pattern without handler, in Nest's words. */
  protected unknownEvent(pattern: string): void {
    this.unknownPattern(pattern, `${NO_EVENT_HANDLER} Event pattern:`);
  }

  /** Counts and logs a pattern without handler, in Nest's words for events or requests. */
  protected unknownPattern(pattern: string, line: string): void {
    this.counters.add('unknownPattern');
    this.host.problems.warn('unknownPattern', `${line} ${pattern}`);
  }

  /** Runs the handler (see runHandler): timed and hooked as the server says. */
  protected run(handler: MessageHandler, data: unknown, context: ZeroMqContext): Promise<HandlerOutcome> {
    return runHandler(this.host, handler, data, context);
  }

  private async read(): Promise<void> {
    const limits = this.host.config;
    const offset = this.routingFrames;
    this.reading = true;
    try {
      for await (const frames of receiveLoop(this.managed.socket as zmq.Pull, this.answersWaiting)) {
        this.messageSize = messageBytes(frames);
        this.dispatcher.budget.read(this.messageSize);
        const message = this.decode(frames, limits, offset);
        switch (message.kind) {
          case 'malformed':
            this.reject('malformed', `Dropped a malformed message on socket "${this.name}": ${message.reason}`);
            break;
          case 'events': {
            this.rejectRecords(message.rejected);
            const bytes = this.bytesPerRecord(message.records.length);
            for (const record of message.records) {
              this.submit(record, this.eventInfo, bytes);
            }
            break;
          }
          case 'plain': {
            const record = this.plainRecord(message.frame, frames);
            if (record !== undefined) {
              this.submit(record, this.plainInfo, this.messageSize);
            }
            break;
          }
          default:
            this.receiveOther(message, frames);
        }
        const room = this.dispatcher.room();
        if (room !== undefined) {
          await room;
        }
      }
    } catch (error) {
      if (!this.state.closing) {
        this.host.problems.error('read', `Socket "${this.name}" stopped reading: ${(error as Error).message}`);
        this.host.emit('error', error);
      }
    } finally {
      this.reading = false;
    }
  }

  /**
   * Hands a record to the dispatcher, unless the server is closing (then it is counted as dropped);
   * it holds `bytes` of the receive budget until its task ends.
   */
  protected admit(task: () => Promise<unknown>, bytes: number): void {
    if (this.state.closing) {
      this.counters.add('droppedOnClose');
      return;
    }
    this.dispatcher.submit(task, bytes);
  }

  /** The share of each of `records` records in the bytes of the message being dispatched. */
  protected bytesPerRecord(records: number): number {
    return Math.ceil(this.messageSize / records);
  }

  protected rejectRecords(rejected: ReadonlyArray<{ reason: string }>): void {
    for (const { reason } of rejected) {
      this.reject('undecodable', `Dropped a record on socket "${this.name}": ${reason}`);
    }
  }

  private submit(record: DecodedRecord, info: ZeroMqMessageInfo, bytes: number): void {
    this.admit(() => this.handleEvent(record, info), bytes);
  }

  /**
   * Whether the record's expiry (`nz-expires-at`, the producer's clock) has passed by this host's
   * clock: then it is counted as `expired`, logged and not handled.
   */
  protected expired(record: DecodedRecord): boolean {
    const expiresAt = expiresAtOf(record.metadata);
    const now = Date.now();
    if (expiresAt === undefined || expiresAt > now) {
      return false;
    }
    this.counters.add('expired');
    this.host.problems.warn('expired', `Dropped "${record.pattern}" on socket "${this.name}": it expired ${now - expiresAt} ms ago`);
    return true;
  }

  /** The socket's message info, with the record's key if it has one (`ZeroMqContext#getKey()`). */
  protected withKey(info: ZeroMqMessageInfo, record: DecodedRecord): ZeroMqMessageInfo {
    const key = keyOf(record.metadata);
    // Field by field: V8 makes a spread copy of a non-literal object slow, and handlers read it.
    return key === undefined ? info : { socket: info.socket, plain: info.plain, key };
  }

  private async handleEvent(record: DecodedRecord, info: ZeroMqMessageInfo): Promise<void> {
    if (this.expired(record)) {
      return;
    }
    const maybeRouted = this.routed(record);
    const routed = maybeRouted instanceof Promise ? await maybeRouted : maybeRouted;
    if (routed === undefined) {
      return;
    }
    const { packet, pattern, handler } = routed;
    if (handler === null) {
      this.unknownEvent(pattern);
      return;
    }
    const outcome = await this.run(handler, packet.data, new ZeroMqContext([pattern, packet.metadata, this.withKey(info, record)]));
    this.counters.add(outcome.ok ? 'handled' : 'failed');
  }

  private plainRecord(frame: Buffer, frames: Buffer[]): DecodedRecord | undefined {
    const plain = this.host.config.plainMessages;
    if (plain === undefined) {
      this.reject(
        'malformed',
        `Dropped a single-frame message on socket "${this.name}": it has no "NZ1E" header; set the plainMessages option to accept plain ZeroMQ messages`,
      );
      return undefined;
    }
    const pattern = this.plainPattern(frames, plain.pattern);
    if (plain.decoding === 'buffer') {
      return { pattern, data: frame, metadata: undefined };
    }
    const text = frame.toString('utf8');
    if (plain.decoding === 'utf8') {
      return { pattern, data: text, metadata: undefined };
    }
    const parsed = parsePeerJson(text);
    if ('error' in parsed) {
      this.reject('undecodable', `Dropped a plain message on socket "${this.name}": it ${parsed.error} (plainMessages.decoding is 'json')`);
      return undefined;
    }
    return { pattern, data: parsed.value, metadata: undefined };
  }

  private undeserializable(record: DecodedRecord, error: unknown): undefined {
    this.reject('undecodable', `The deserializer rejected a "${record.pattern}" record: ${describeError(error)}`);
    return undefined;
  }
}
