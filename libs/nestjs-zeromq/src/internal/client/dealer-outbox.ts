import type { WritePacket } from '@nestjs/microservices';
import type * as zmq from 'zeromq';
import {
  decodeMessage,
  DELIVERY_STATUSES,
  recordFields,
  type DecodedReply,
  type DeliveryStatus,
  type EncodedRecord,
} from '../protocol/wire.js';
import type { Settle } from '../sockets/send-queue.js';
import { receiveLoop } from '../sockets/receive-loop.js';
import type { Delivery } from '../at-least-once/delivery.js';
import type { DeliveryTracker } from '../at-least-once/delivery-tracker.js';
import type { ClientSocketPlan } from '../options/plans.js';
import type { ManagedSocket } from '../sockets/managed-socket.js';
import {
  Outbox,
  type Outgoing,
  type OutboxHost,
  type OutboxParts,
  type OutboxTotals,
  type ReplyCarrier,
  type ReplyHandling,
} from './outbox.js';

const REPLY_LIMITS = { maxPatternLength: 0, maxRecordsPerMessage: Number.MAX_SAFE_INTEGER };

/**
 * A DEALER socket to one server (or to every server behind its endpoints): events as any outbox,
 * plus `send()` requests and at-least-once deliveries, and the read loop that brings their
 * replies, acks and credit back.
 */
export class DealerOutbox extends Outbox implements ReplyCarrier {
  /** Replies nobody waits for any more (timed out or unsubscribed). */
  lateReplies = 0;
  /** Messages from the server that could not be read as replies. */
  malformedReplies = 0;
  override readonly replyCarrier: ReplyCarrier = this;
  /** The at-least-once route's tracker, which this outbox's worker acks to. */
  readonly tracker: DeliveryTracker | undefined;
  /** Whether deliveries or requests wait for the queue's next send: they leave before more acks are read. */
  private readonly sendsWaiting = (): boolean => this.queue.length > 0;

  constructor(managed: ManagedSocket<zmq.Socket, ClientSocketPlan>, parts: OutboxParts) {
    super(managed, parts);
    this.tracker = parts.tracker;
  }

  /** Queues a request; its replies come back through `ReplyHandling.requests`. */
  request(id: string, record: EncodedRecord, done: Settle): void {
    this.queue.push(
      { kind: 'requests', pattern: record.pattern, fragment: this.write('requests', recordFields.request(id, record)) },
      done,
    );
  }

  /** Queues one delivery of an at-least-once message (packed by its tracker); `done` hears whether ZeroMQ took it. */
  deliver(delivery: Delivery, done: Settle): void {
    this.queue.push({ kind: 'deliveries', pattern: delivery.pattern, fragment: delivery.packed }, done);
  }

  /**
   * Deliveries batch across slabs: the tracker packs them into small slabs (a slab lives until its
   * last message is acked), which would cut a batch of 4 KiB messages at about a dozen. A batch whose
   * fragments are not adjacent is copied into one body (`joinFragments`), which costs less than the
   * ZeroMQ messages it saves.
   */
  protected override batchKeyOf(item: Outgoing): unknown {
    return item.kind === 'deliveries' ? item.kind : super.batchKeyOf(item);
  }

  /** Greets the worker so that it announces its credit (after every (re)connect). */
  hello(producerId: string): Promise<void> {
    return this.queue.enqueue({ kind: 'hello', pattern: '(hello)', producerId });
  }

  override addTo(totals: OutboxTotals): void {
    super.addTo(totals);
    totals.lateReplies += this.lateReplies;
    totals.malformedReplies += this.malformedReplies;
  }

  /** Reads replies, acks and credit until the socket closes. */
  protected override async readFrom(host: OutboxHost): Promise<void> {
    try {
      for await (const frames of receiveLoop(this.managed.socket as zmq.Dealer, this.sendsWaiting)) {
        const message = decodeMessage(frames, REPLY_LIMITS);
        if (message.kind === 'credit') {
          this.tracker?.credit(this.name, message.window);
          continue;
        }
        if (message.kind !== 'replies') {
          this.malformed(host, `Dropped a message on socket "${this.name}" that is not a reply (${message.kind})`);
          continue;
        }
        for (const { reason } of message.rejected) {
          this.malformed(host, `Dropped a reply on socket "${this.name}": ${reason}`);
        }
        for (const reply of message.records) {
          if (DELIVERY_STATUSES.has(reply.status)) {
            const reason = typeof reply.data === 'string' ? reply.data : '';
            const known =
              reply.status === 'h'
                ? this.tracker?.unheard(this.name, reply.id)
                : this.tracker?.settle(this.name, reply.id, reply.status as Exclude<DeliveryStatus, 'h'>, reason);
            if (known !== true) {
              this.lateReplies++;
            }
          } else {
            await this.deliverReply(host, reply);
          }
        }
      }
    } catch (error) {
      if (host.isOpen()) {
        host.problems.error('read', `Socket "${this.name}" stopped reading replies: ${(error as Error).message}`);
      }
    }
  }

  private malformed(host: ReplyHandling, line: string): void {
    this.malformedReplies++;
    host.problems.warn('reply', line);
  }

  private async deliverReply(host: ReplyHandling, reply: DecodedReply): Promise<void> {
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
    const packet = await host.deserializer.deserialize(raw);
    if (!host.requests.deliver(reply.id, packet)) {
      this.lateReplies++;
    }
  }
}
