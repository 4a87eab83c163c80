import type { ZeroMqDeadLetter } from '../../zeromq.events.js';
import { EXPIRED } from '../protocol/message-key.js';
import type { Delivery, DeliveryCounters, DeliveryTrackerOptions } from './delivery.js';
import type { DeliveryLinks } from './delivery-links.js';
import type { OutstandingDeliveries } from './outstanding-deliveries.js';
import type { WaitingDeliveries } from './waiting-deliveries.js';

/**
 * How a tracker's delivery leaves its link (`release`, `leaveLink`) and then the tracker
 * (`acknowledge` and `forget`, `deadLetter`), and the messages acked ahead of a repeat that still
 * runs (`ackAhead`). Apart from the tracker because every path (an answer, a retry, the ack sweep,
 * a lost link, the close) ends deliveries alike: here alone the link's credit, the count in
 * flight, the key gate, the outbox and the acked-ahead count are kept in step.
 */
export class DeliveryEndings {
  /** Messages acked while a repeat of theirs still runs elsewhere (held for their key: see the tracker's settle). */
  private ahead = 0;

  constructor(
    private readonly links: DeliveryLinks,
    private readonly deliveries: OutstandingDeliveries,
    private readonly waiting: WaitingDeliveries,
    private readonly counters: DeliveryCounters,
    private readonly options: Pick<DeliveryTrackerOptions, 'store' | 'dataOf' | 'onDeadLetter' | 'errors'>,
    /** Takes what waits in the outbox into memory: a forgotten delivery freed room. */
    private readonly refill: () => void,
  ) {}

  /** Messages held though acked (`ackAhead`): not outstanding any more. */
  get ackedAhead(): number {
    return this.ahead;
  }

  /** Frees the delivery's unit of credit at its link: it is no longer in flight there. */
  release(delivery: Delivery): void {
    if (delivery.link !== undefined) {
      this.links.released(delivery.link);
      this.leaveLink(delivery);
    }
  }

  /** The delivery is no longer in flight (its credit is freed by `release`, or held late by the ack sweep). */
  leaveLink(delivery: Delivery): void {
    delivery.link = undefined;
    this.deliveries.landed();
  }

  /** Acks a delivery whose repeat still runs: its emit resolves; it stays held, not outstanding, until `forget`. */
  ackAhead(delivery: Delivery): void {
    delivery.acked = true;
    this.ahead++;
    this.acknowledge(delivery);
    delivery.done.resolve();
  }

  deadLetter(delivery: Delivery, reason: string): void {
    this.counters.deadLettered++;
    if (reason === EXPIRED) {
      this.counters.expired++;
    }
    this.options.store?.deadLetter(
      delivery.key,
      {
        messageId: delivery.id,
        pattern: delivery.pattern,
        reason,
        attempts: delivery.attempt,
        deadAt: Date.now(),
      },
      delivery.packed,
    );
    this.forget(delivery);
    const letter: ZeroMqDeadLetter = {
      pattern: delivery.pattern,
      messageId: delivery.id,
      attempts: delivery.attempt,
      reason,
      data: this.options.dataOf(delivery.packed),
    };
    this.options.onDeadLetter(letter, delivery);
    delivery.done.reject(this.options.errors.deadLetter(letter));
  }

  /** Counts an ack and drops the message from the outbox (before `forget` reads the outbox back). */
  acknowledge(delivery: Delivery): void {
    this.counters.acked++;
    this.options.store?.remove(delivery.key);
  }

  forget(delivery: Delivery): void {
    if (delivery.acked === true) {
      this.ahead--;
    }
    this.deliveries.remove(delivery);
    this.waiting.done(delivery);
    this.refill();
  }
}
