import { randomBytes } from 'node:crypto';
import type { ZeroMqDeadLetter } from '../../zeromq.events.js';
import { settlesWithin } from '../util/deadline.js';
import { Deque } from '../util/deque.js';
import type { EncodedRecord } from '../protocol/wire.js';
import { afterUnreadIsRead } from '../util/unread-grace.js';
import type { Delivery, DeliveryCounters, DeliveryTrackerOptions } from './delivery.js';
import { DeliveryLinks } from './delivery-links.js';
import type { DeliveryStore } from './delivery-store.js';
import { StoredBacklog } from './stored-backlog.js';

/** Messages read back from the outbox at a time (when that much room is free, or little waits). */
const REFILL_BATCH = 256;

/**
 * The producer side of at-least-once delivery for one route. It keeps every message until a
 * worker acks it, never has more in flight at a worker than the worker's credit, sends each to
 * the worker with the most free credit, and sends it again when the worker fails it (after a
 * back-off), when the ack does not come within `ackTimeout`, or when the worker's connection
 * drops. After `maxAttempts` deliveries, or when a worker refuses it for good, it dead-letters.
 * With a durable outbox (`store`) every message is stored from acceptance to ack; the tracker
 * holds in memory only what its bounds allow and reads the rest back in order (StoredBacklog).
 */
export class DeliveryTracker {
  /** Unique per tracker: message ids are `<producerId>.<sequence>`. */
  readonly producerId = randomBytes(6).toString('base64url');
  readonly counters: DeliveryCounters = { acked: 0, redelivered: 0, deadLettered: 0, replayed: 0 };

  private readonly links: DeliveryLinks;
  private readonly deliveries = new Map<string, Delivery>();
  /** Deliveries waiting for credit, oldest first. */
  private readonly waiting = new Deque<Delivery>();
  private sequence: number;
  private outstandingBytes = 0;
  /** Deliveries on a link, not acked yet. */
  private inFlight = 0;
  private readonly store: DeliveryStore | undefined;
  private readonly backlog: StoredBacklog | undefined;
  private closed = false;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly sweeper: NodeJS.Timeout;
  private idleWaiters: Array<() => void> = [];

  constructor(
    linkNames: readonly string[],
    private readonly options: DeliveryTrackerOptions,
  ) {
    this.links = new DeliveryLinks(linkNames);
    this.store = options.store;
    this.backlog =
      this.store === undefined
        ? undefined
        : new StoredBacklog(
            this.store,
            {
              fits: (size) => this.fits(size),
              room: () => this.options.maxQueueSize - this.deliveries.size,
              hold: (delivery) => this.hold(delivery),
              abandon: (delivery) => {
                if (this.deliveries.has(delivery.id)) {
                  this.release(delivery);
                  this.forget(delivery);
                }
              },
              replayed: () => this.counters.replayed++,
            },
            options,
          );
    this.sequence = this.store?.lastKey ?? 0;
    // What an earlier process stored goes first, in its order.
    this.refill();
    // Checks ack deadlines; unref'd: the sockets, not this timer, keep a process alive.
    this.sweeper = setInterval(() => this.expire(), Math.max(20, Math.min(1_000, options.ackTimeout / 4)));
    this.sweeper.unref();
  }

  /** Messages not acked yet: waiting, in flight, backing off or (with an outbox) stored only. */
  get outstanding(): number {
    return this.deliveries.size + (this.backlog?.count ?? 0);
  }

  /** Accepts a message; resolves when a worker has handled it, rejects when it is dead-lettered. */
  submit(pattern: string, record: EncodedRecord, data: unknown): Promise<void> {
    if (this.closed) {
      return Promise.reject(this.options.errors.closed(pattern));
    }
    if (this.backlog === undefined && !this.fits(record.size)) {
      return Promise.reject(this.options.errors.queueFull(pattern));
    }
    const key = ++this.sequence;
    const id = `${this.producerId}.${key.toString(36)}`;
    const packed = this.options.pack(id, record);
    if (this.backlog !== undefined) {
      return this.backlog.accept(key, id, pattern, packed, record, data);
    }
    return new Promise<void>((resolve, reject) => {
      this.hold({ id, key, pattern, packed, size: record.size, data, attempt: 0, link: undefined, ackDeadline: 0, resolve, reject });
    });
  }

  /** Whether a message of `size` bytes fits in memory (a lone one always does). */
  private fits(size: number): boolean {
    return (
      this.deliveries.size < this.options.maxQueueSize &&
      (this.deliveries.size === 0 || this.outstandingBytes + size <= this.options.maxQueueBytes)
    );
  }

  /**
   * Takes what waits in the outbox into memory while there is room: in batches, once a batch's
   * room is free or little is left waiting, not one read per ack.
   */
  private refill(): void {
    if (this.backlog === undefined || this.closed || this.backlog.count === 0) {
      return;
    }
    if (this.waiting.length >= REFILL_BATCH && this.options.maxQueueSize - this.deliveries.size < REFILL_BATCH) {
      return;
    }
    this.backlog.readBack();
  }

  private hold(delivery: Delivery): void {
    this.deliveries.set(delivery.id, delivery);
    this.outstandingBytes += delivery.size;
    this.waiting.push(delivery);
    this.pump();
  }

  /** A worker announced its window (0 withdraws it: it is closing). */
  credit(linkName: string, window: number): void {
    if (this.links.credit(linkName, window)) {
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
      this.store?.remove(delivery.key);
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
    if (!this.links.voidCredit(linkName)) {
      return;
    }
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
    this.links.add(linkName);
  }

  /**
   * Sends no more to a link (its worker left DNS) while what it has in flight may still be acked;
   * `unackedOn()` tells when none is left, `removeLink()` then forgets it.
   */
  retireLink(linkName: string): void {
    this.links.retire(linkName);
  }

  /** Deliveries in flight on a link. */
  unackedOn(linkName: string): number {
    return this.links.unackedOn(linkName);
  }

  /** Forgets a link: what it still had in flight goes to the others. */
  removeLink(linkName: string): void {
    this.linkLost(linkName);
    this.links.remove(linkName);
  }

  /**
   * Stops taking messages and waits up to `timeout` ms for every outstanding one to be acked;
   * fails the rest with `closed` and resolves with how many that was.
   */
  async drain(timeout: number): Promise<number> {
    this.closed = true;
    if (!this.idle()) {
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
    this.backlog?.rejectAll(() => this.options.errors.closed('(stored)'));
    this.waiting.clear();
    // Messages left in an outbox are not dropped: the next start replays them.
    return this.store === undefined ? left.length : 0;
  }

  /** Sends waiting deliveries while some connected worker has free credit. */
  private pump(): void {
    while (this.waiting.length > 0) {
      const link = this.links.freest();
      if (link === undefined) {
        return;
      }
      const delivery = this.waiting.shift()!;
      if (!this.deliveries.has(delivery.id)) {
        continue;
      }
      delivery.attempt++;
      if (delivery.replayed === true) {
        delivery.replayed = false;
      } else if (delivery.attempt > 1) {
        this.counters.redelivered++;
        delivery.packed = this.options.repack(delivery.packed, delivery.attempt);
        this.store?.update(delivery.key, delivery.packed);
      }
      delivery.link = link.name;
      delivery.ackDeadline = Date.now() + this.options.ackTimeout;
      this.links.sent(link);
      this.inFlight++;
      this.options.transmit(link.name, delivery).catch(() => {
        // The socket did not take it (send timeout, closing): the message never left. Its credit
        // is void until the worker announces it again; meanwhile others get the message.
        if (delivery.link === link.name) {
          this.links.voidCredit(link.name);
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
      this.links.released(delivery.link);
      delivery.link = undefined;
      this.inFlight--;
      this.notifyIfIdle();
    }
  }

  private deadLetter(delivery: Delivery, reason: string): void {
    this.counters.deadLettered++;
    this.store?.deadLetter(delivery.key, {
      messageId: delivery.id,
      pattern: delivery.pattern,
      reason,
      attempts: delivery.attempt,
      deadAt: Date.now(),
    });
    this.forget(delivery);
    const letter: ZeroMqDeadLetter = {
      pattern: delivery.pattern,
      messageId: delivery.id,
      attempts: delivery.attempt,
      reason,
      data: delivery.fromStore === true ? this.options.dataOf(delivery.packed) : delivery.data,
    };
    this.options.onDeadLetter(letter, delivery);
    delivery.reject(this.options.errors.deadLetter(letter));
  }

  private forget(delivery: Delivery): void {
    this.deliveries.delete(delivery.id);
    this.outstandingBytes -= delivery.size;
    this.notifyIfIdle();
    this.refill();
  }

  /**
   * Nothing left to wait for at close: no message at all, or with an outbox none in flight (the
   * stored ones wait for the next start; a close does not wait for a worker outage to end).
   */
  private idle(): boolean {
    return this.store === undefined ? this.deliveries.size === 0 : this.inFlight === 0;
  }

  private notifyIfIdle(): void {
    if (this.idleWaiters.length > 0 && this.idle()) {
      for (const resolve of this.idleWaiters.splice(0)) {
        resolve();
      }
    }
  }
}
