import type { ProducerDeserializer } from '@nestjs/microservices';
import type * as zmq from 'zeromq';
import type { ZeroMqSendErrorCode } from '../../zeromq.errors.js';
import type { ClientSocketPlan, ResolvedClientOptions } from '../options/plans.js';
import {
  encodeHello,
  fragmentFields,
  FragmentWriter,
  HEADERS,
  joinFragments,
  PACKED_HEADERS,
  recordFields,
  type EncodedRecord,
  type Fragment,
  type Frame,
  type RecordKind,
} from '../protocol/wire.js';
import type { DeliverySocket } from '../at-least-once/route-tracker.js';
import type { DeliveryTracker } from '../at-least-once/delivery-tracker.js';
import type { ManagedSocket } from '../sockets/managed-socket.js';
import { SendQueue, SendRefused, type Settle } from '../sockets/send-queue.js';
import { settlesWithin } from '../util/deadline.js';
import type { RateLimitedLog } from '../util/rate-limited-log.js';
import type { PendingRequests } from './pending-requests.js';
import type { SubscriptionChange, SubscriptionCounts } from './subscription-counts.js';

/** What an outbox's queue carries: packed records of one kind, a bare payload, or a hello. */
export type Outgoing =
  | { kind: Exclude<RecordKind, 'replies'>; pattern: string; fragment: Fragment }
  | { kind: 'bare'; pattern: string; payload: Frame }
  | { kind: 'hello'; pattern: string; producerId: string };

/** Builds the error an outgoing item fails with: a send error for emits, a request error for requests. */
export type OutgoingError = (item: Outgoing, code: ZeroMqSendErrorCode, detail: string, cause?: unknown) => Error;

/** What a kind's outbox is created with (see SocketKind.createOutbox). */
export interface OutboxParts {
  config: ResolvedClientOptions;
  toError: OutgoingError;
  /** The at-least-once tracker of the socket's route, if it has one (a kind that carries replies acks to it). */
  tracker?: DeliveryTracker;
}

/**
 * What an outbox of a kind that carries replies sends besides events (a DEALER: see
 * KindFacts.carriesReplies): requests, and its route's at-least-once deliveries.
 */
export interface ReplyCarrier extends DeliverySocket {
  readonly name: string;
  /** The at-least-once tracker of its route, if it has one: acks and credit are read into it. */
  readonly tracker: DeliveryTracker | undefined;
  /** Queues a request; its replies come back through `ReplyHandling.requests`. */
  request(id: string, record: EncodedRecord, done: Settle): void;
}

/** What a DEALER outbox hands the replies it reads to. */
export interface ReplyHandling {
  requests: PendingRequests;
  deserializer: ProducerDeserializer;
  problems: RateLimitedLog;
  /** False once the client is closing: a read failure is then expected. */
  isOpen(): boolean;
}

/**
 * What an outbox that also reads its socket hands what it reads to: replies and credit (a DEALER),
 * subscription changes (an XPUB). The client implements it; an outbox that only writes ignores it.
 */
export interface OutboxHost extends ReplyHandling {
  subscriptionChanged(socket: string, change: SubscriptionChange): void;
}

/** What the outboxes add up to in `getMetrics()` (see ZeroMqClientMetrics). */
export interface OutboxTotals {
  batches: number;
  sent: number;
  queued: number;
  lateReplies: number;
  malformedReplies: number;
  subscriptions: Record<string, Record<string, number>>;
}

export function emptyOutboxTotals(): OutboxTotals {
  return { batches: 0, sent: 0, queued: 0, lateReplies: 0, malformedReplies: 0, subscriptions: {} };
}

/**
 * One client socket and its writer, whatever its kind: the base of each kind's outbox (PushOutbox,
 * DealerOutbox, PubSubOutbox). Records are packed the moment they are emitted (their strings die
 * young; the queue holds bytes), wait in the socket's SendQueue, and leave in batches: one ZeroMQ
 * message per batch, its body one view of adjacent fragments.
 */
export abstract class Outbox {
  /** ZeroMQ messages sent. */
  batches = 0;
  /** At-most-once emits ZeroMQ took. */
  sent = 0;
  readonly queue: SendQueue<Outgoing>;
  /** The subscriptions its peers hold, on a kind whose socket sees them (XPUB); undefined elsewhere. */
  readonly subscriptions: SubscriptionCounts | undefined = undefined;
  /** Requests and deliveries, on a kind that carries replies (DEALER); undefined elsewhere. */
  readonly replyCarrier: ReplyCarrier | undefined = undefined;
  /** The read loop `start()` began, for the kinds whose peers answer. */
  private reading: Promise<void> | undefined;
  /**
   * Whether an emit sent before any peer's handshake completed resolves only once one does (see
   * `handshaken`). A publisher's emits without a subscriber are dropped whatever it waits for.
   */
  protected readonly confirmsHandshake: boolean = true;
  /** One writer per record kind: records of one kind lie next to each other in their slabs. */
  private readonly writers = { events: new FragmentWriter(), requests: new FragmentWriter() };

  constructor(
    readonly managed: ManagedSocket<zmq.Socket, ClientSocketPlan>,
    { config, toError }: OutboxParts,
  ) {
    const bare = managed.plan.bare;
    this.queue = new SendQueue<Outgoing>({
      maxQueueSize: config.maxQueueSize,
      overflow: config.overflow,
      maxQueueBytes: config.maxQueueBytes,
      // A bare message is one payload frame: several cannot share a ZeroMQ message.
      maxBatchSize: bare ? 1 : config.maxBatchSize,
      maxBatchBytes: config.maxBatchBytes,
      sendTimeout: config.sendTimeout,
      sizeOf,
      batchKey: (item) => this.batchKeyOf(item),
      toError,
      describePeers: () => managed.describePeers(),
      transmit: async (batch) => {
        this.refuseIfRejected();
        const usable = managed.usable;
        this.batches++;
        await (managed.socket as zmq.Push).send(this.framesOf(batch));
        const emits = batch[0].kind === 'events' || batch[0].kind === 'bare';
        if (emits && !usable && this.confirmsHandshake) {
          await this.handshaken(config.sendTimeout);
        }
        if (emits) {
          this.sent += batch.length;
        }
      },
    });
  }

  get name(): string {
    return this.managed.name;
  }

  /** Items waiting or being sent: what the route's least-loaded choice compares. */
  get load(): number {
    return this.queue.length + this.queue.sending;
  }

  /** Queues an at-most-once event; `done` hears when ZeroMQ took it. */
  emit(record: EncodedRecord, done: Settle): void {
    if (this.managed.plan.bare) {
      this.queue.push({ kind: 'bare', pattern: record.pattern, payload: record.payload }, done);
    } else {
      this.queue.push({ kind: 'events', pattern: record.pattern, fragment: this.write('events', recordFields.event(record)) }, done);
    }
  }

  /** Adds this outbox's counters to the client's metrics. */
  addTo(totals: OutboxTotals): void {
    totals.batches += this.batches;
    totals.sent += this.sent;
    totals.queued += this.load;
  }

  /** Starts reading the socket, for the kinds whose peers answer (`readFrom`). */
  start(host: OutboxHost): void {
    this.reading = this.readFrom(host);
  }

  /** Resolves once the read loop `start()` began has ended (at once for a socket nobody reads). */
  stopped(): Promise<void> {
    return this.reading ?? Promise.resolve();
  }

  /** Sends what is queued, at most `timeout` ms; resolves with the number of items not sent. */
  drain(timeout: number): Promise<number> {
    return this.queue.drain(timeout);
  }

  /** Fails a send at once when every endpoint rejected this socket: nothing sent here can arrive. */
  private refuseIfRejected(): void {
    const rejection = this.managed.rejection;
    if (rejection !== undefined) {
      throw new SendRefused('PEER_REJECTED', `${rejection.address} rejected this socket: ${rejection.reason}`);
    }
  }

  /**
   * After a send that ZeroMQ took while no peer had completed its handshake (a DEALER queues for
   * a peer still connecting): waits for one to complete it, so that an emit never resolves into the
   * pipe of a peer that then rejects this socket (its messages are lost with the connection).
   */
  private async handshaken(timeout: number): Promise<void> {
    if (!(await settlesWithin(this.managed.whenSettled(), timeout))) {
      throw new SendRefused('SEND_TIMEOUT', 'no peer completed the handshake');
    }
    this.refuseIfRejected();
  }

  /** The read loop of a kind whose peers answer, until the socket closes; undefined for a kind that only writes. */
  protected abstract readFrom(host: OutboxHost): Promise<void> | undefined;

  protected write(kind: keyof Outbox['writers'], fields: readonly Frame[]): Fragment {
    return this.writers[kind].write(fields);
  }

  /**
   * Items batch together while this is equal: one kind per message, packed records of one slab
   * only, so that a batch is one view of it (a broadcast outbox: one pattern per message).
   */
  protected batchKeyOf(item: Outgoing): unknown {
    return item.kind === 'bare' || item.kind === 'hello' ? item.kind : item.fragment.slab;
  }

  /** The ZeroMQ message of a batch. */
  protected framesOf(batch: Outgoing[]): Frame | Frame[] {
    return framesOf(batch);
  }
}

function sizeOf(item: Outgoing): number {
  switch (item.kind) {
    case 'bare':
      return typeof item.payload === 'string' ? item.payload.length : item.payload.byteLength;
    case 'hello':
      return item.producerId.length;
    default:
      return item.fragment.end - item.fragment.start;
  }
}

/** The ZeroMQ message of a batch (the queue never mixes kinds in one). */
function framesOf(batch: Outgoing[]): Frame | Frame[] {
  const first = batch[0];
  switch (first.kind) {
    case 'bare':
      return first.payload;
    case 'hello':
      return encodeHello(first.producerId);
    default:
      // A lone record travels in the multipart form, which any ZeroMQ peer reads frame by frame.
      return batch.length === 1
        ? [HEADERS[first.kind], ...fragmentFields(first.fragment)]
        : [PACKED_HEADERS[first.kind], joinFragments(batch.map((item) => (item as { fragment: Fragment }).fragment))];
  }
}
