import { randomBytes } from 'node:crypto';
import type { ZeroMqDeadLetter } from '../../zeromq.events.js';
import { settlesWithin } from '../util/deadline.js';
import { Deque } from '../util/deque.js';
import type { EncodedRecord } from '../protocol/wire.js';
import { afterUnreadIsRead } from '../util/unread-grace.js';
import type { Delivery, DeliveryCounters, DeliveryLink, DeliveryTrackerOptions } from './delivery.js';

/**
 * The producer side of at-least-once delivery for one route. It keeps every message until a
 * worker acks it, never has more in flight at a worker than the worker's credit, sends each to
 * the worker with the most free credit, and sends it again when the worker fails it (after a
 * back-off), when the ack does not come within `ackTimeout`, or when the worker's connection
 * drops. After `maxAttempts` deliveries, or when a worker refuses it for good, it dead-letters.
 */
export class DeliveryTracker {
  /** Unique per tracker: message ids are `<producerId>.<sequence>`. */
  readonly producerId = randomBytes(6).toString('base64url');
  readonly counters: DeliveryCounters = { acked: 0, redelivered: 0, deadLettered: 0 };

  private readonly links = new Map<string, DeliveryLink>();
  private readonly deliveries = new Map<string, Delivery>();
  /** Deliveries waiting for credit, oldest first. */
  private readonly waiting = new Deque<Delivery>();
  private sequence = 0;
  private outstandingBytes = 0;
  private closed = false;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly sweeper: NodeJS.Timeout;
  private idleWaiters: Array<() => void> = [];

  constructor(
    linkNames: readonly string[],
    private readonly options: DeliveryTrackerOptions,
  ) {
    for (const name of linkNames) {
      this.links.set(name, { name, window: 0, unacked: 0 });
    }
    // Checks ack deadlines; unref'd: the sockets, not this timer, keep a process alive.
    this.sweeper = setInterval(() => this.expire(), Math.max(20, Math.min(1_000, options.ackTimeout / 4)));
    this.sweeper.unref();
  }

  /** Messages not acked yet: waiting, in flight or backing off. */
  get outstanding(): number {
    return this.deliveries.size;
  }

  /** Accepts a message; resolves when a worker has handled it, rejects when it is dead-lettered. */
  submit(pattern: string, record: EncodedRecord, data: unknown): Promise<void> {
    if (this.closed) {
      return Promise.reject(this.options.errors.closed(pattern));
    }
    const full =
      this.deliveries.size >= this.options.maxQueueSize ||
      (this.deliveries.size > 0 && this.outstandingBytes + record.size > this.options.maxQueueBytes);
    if (full) {
      return Promise.reject(this.options.errors.queueFull(pattern));
    }
    const id = `${this.producerId}.${(++this.sequence).toString(36)}`;
    const packed = this.options.pack(id, record);
    this.outstandingBytes += record.size;
    return new Promise<void>((resolve, reject) => {
      const delivery: Delivery = {
        id,
        pattern,
        packed,
        size: record.size,
        data,
        attempt: 0,
        link: undefined,
        ackDeadline: 0,
        resolve,
        reject,
      };
      this.deliveries.set(id, delivery);
      this.waiting.push(delivery);
      this.pump();
    });
  }

  /** A worker announced its window (0 withdraws it: it is closing). */
  credit(linkName: string, window: number): void {
    const link = this.links.get(linkName);
    if (link !== undefined && link.retired !== true) {
      link.window = window;
      this.pump();
    }
  }

  /** A worker answered delivery `id`: 'a' handled, 'f' failed (retry), 'x' refused for good. */
  settle(id: string, status: 'a' | 'f' | 'x', reason: string): boolean {
    const delivery = this.deliveries.get(id);
    if (delivery === undefined) {
      return false;
    }
    this.release(delivery);
    if (status === 'a') {
      this.counters.acked++;
      this.forget(delivery);
      delivery.resolve();
    } else if (status === 'x' || delivery.attempt >= this.options.maxAttempts) {
      this.deadLetter(delivery, reason);
    } else {
      const delay = Math.min(this.options.retryDelay * 2 ** (delivery.attempt - 1), this.options.maxRetryDelay);
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        this.requeue(delivery);
      }, delay);
      this.timers.add(timer);
    }
    this.pump();
    return true;
  }

  /**
   * A worker's connection dropped: its credit is void at once; what it had in flight then goes to
   * others, after `lostLinkGrace` (unless acked meanwhile).
   */
  linkLost(linkName: string): void {
    const link = this.links.get(linkName);
    if (link === undefined) {
      return;
    }
    link.window = 0;
    const lostAt = Date.now();
    const resend = () => {
      // Only what was sent before the loss: the link may be back and busy again by now.
      const lost = [...this.deliveries.values()].filter(
        (delivery) => delivery.link === linkName && delivery.ackDeadline - this.options.ackTimeout <= lostAt,
      );
      for (const delivery of lost) {
        this.release(delivery);
      }
      this.requeue(...lost);
      if (lost.length > 0) {
        this.options.onLinkLost?.(linkName, lost);
      }
    };
    if (this.options.lostLinkGrace === 0) {
      resend();
      return;
    }
    afterUnreadIsRead(
      () => this.options.unread?.(linkName) === true,
      this.options.lostLinkGrace,
      this.options.ackTimeout,
      this.timers,
      resend,
    );
  }

  /** A new worker connection (DNS discovery found it), or a retired one back in DNS; it gets work once it announces its credit. */
  addLink(linkName: string): void {
    const link = this.links.get(linkName);
    if (link === undefined) {
      this.links.set(linkName, { name: linkName, window: 0, unacked: 0 });
    } else {
      link.retired = false;
    }
  }

  /**
   * Sends no more to a link (its worker left DNS) while what it has in flight may still be acked;
   * `unackedOn()` tells when none is left, `removeLink()` then forgets it.
   */
  retireLink(linkName: string): void {
    const link = this.links.get(linkName);
    if (link !== undefined) {
      link.retired = true;
      link.window = 0;
    }
  }

  /** Deliveries in flight on a link. */
  unackedOn(linkName: string): number {
    return this.links.get(linkName)?.unacked ?? 0;
  }

  /** Forgets a link: what it still had in flight goes to the others. */
  removeLink(linkName: string): void {
    this.linkLost(linkName);
    this.links.delete(linkName);
  }

  /**
   * Stops taking messages and waits up to `timeout` ms for every outstanding one to be acked;
   * fails the rest with `closed` and resolves with how many that was.
   */
  async drain(timeout: number): Promise<number> {
    this.closed = true;
    if (this.deliveries.size > 0) {
      await settlesWithin(new Promise<void>((resolve) => this.idleWaiters.push(resolve)), timeout);
    }
    clearInterval(this.sweeper);
    for (const timer of this.timers) {
      clearTimeout(timer);
    }
    this.timers.clear();
    const left = [...this.deliveries.values()];
    for (const delivery of left) {
      this.forget(delivery);
      delivery.reject(this.options.errors.closed(delivery.pattern));
    }
    this.waiting.clear();
    return left.length;
  }

  /** Sends waiting deliveries while some connected worker has free credit. */
  private pump(): void {
    while (this.waiting.length > 0) {
      const link = this.freestLink();
      if (link === undefined) {
        return;
      }
      const delivery = this.waiting.shift()!;
      if (!this.deliveries.has(delivery.id)) {
        continue;
      }
      delivery.attempt++;
      if (delivery.attempt > 1) {
        this.counters.redelivered++;
        delivery.packed = this.options.repack(delivery.packed, delivery.attempt);
      }
      delivery.link = link.name;
      delivery.ackDeadline = Date.now() + this.options.ackTimeout;
      link.unacked++;
      this.options.transmit(link.name, delivery).catch(() => {
        // The socket did not take it (send timeout, closing): the message never left. Its credit
        // is void until the worker announces it again; meanwhile others get the message.
        if (delivery.link === link.name) {
          link.window = 0;
          this.release(delivery);
          delivery.attempt--;
          this.requeue(delivery);
          if (!this.closed) {
            this.options.requestCredit(link.name);
          }
        }
      });
    }
  }

  private freestLink(): DeliveryLink | undefined {
    let best: DeliveryLink | undefined;
    for (const link of this.links.values()) {
      const free = link.window - link.unacked;
      if (free > 0 && (best === undefined || free > best.window - best.unacked)) {
        best = link;
      }
    }
    return best;
  }

  private expire(): void {
    const now = Date.now();
    const late = [...this.deliveries.values()].filter((delivery) => delivery.link !== undefined && delivery.ackDeadline <= now);
    for (const delivery of late) {
      this.release(delivery);
      if (delivery.attempt >= this.options.maxAttempts) {
        this.deadLetter(delivery, `not acknowledged within ${this.options.ackTimeout} ms (ackTimeout)`);
      } else {
        this.requeue(delivery);
      }
    }
  }

  /** Back to the front of the line (it is older than what waits), if still outstanding. */
  private requeue(...deliveries: Delivery[]): void {
    const alive = deliveries.filter((delivery) => this.deliveries.has(delivery.id));
    if (alive.length > 0) {
      this.waiting.unshift(...alive);
      this.pump();
    }
  }

  private release(delivery: Delivery): void {
    if (delivery.link !== undefined) {
      const link = this.links.get(delivery.link);
      if (link !== undefined) {
        link.unacked--;
      }
      delivery.link = undefined;
    }
  }

  private deadLetter(delivery: Delivery, reason: string): void {
    this.counters.deadLettered++;
    this.forget(delivery);
    const letter: ZeroMqDeadLetter = {
      pattern: delivery.pattern,
      messageId: delivery.id,
      attempts: delivery.attempt,
      reason,
      data: delivery.data,
    };
    this.options.onDeadLetter(letter, delivery);
    delivery.reject(this.options.errors.deadLetter(letter));
  }

  private forget(delivery: Delivery): void {
    this.deliveries.delete(delivery.id);
    this.outstandingBytes -= delivery.size;
    if (this.deliveries.size === 0) {
      for (const resolve of this.idleWaiters.splice(0)) {
        resolve();
      }
    }
  }
}
