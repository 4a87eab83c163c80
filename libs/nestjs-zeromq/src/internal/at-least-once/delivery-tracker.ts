import { randomBytes } from 'node:crypto';
import type { DeliveryStatus, EncodedRecord } from '../protocol/wire.js';
import type { Settle } from '../sockets/send-queue.js';
import type { Delivery, DeliveryCounters, DeliveryLink, DeliveryTrackerOptions } from './delivery.js';
import { DeliveryEndings } from './delivery-endings.js';
import { DeliveryLinks } from './delivery-links.js';
import { DeliveryRetries } from './delivery-retries.js';
import type { DeliveryStore } from './delivery-store.js';
import { EXPIRED } from '../protocol/message-key.js';
import { isExpired } from './delivery-failures.js';
import { OutstandingDeliveries } from './outstanding-deliveries.js';
import { StoredBacklog } from './stored-backlog.js';
import { WaitingDeliveries } from './waiting-deliveries.js';

/** Messages read back from the outbox at a time (when that much room is free, or little waits). */
const REFILL_BATCH = 256;

/** A delivery the socket took: nothing to do until its ack. */
const taken = (): void => undefined;

/** The highest attempt number the wire carries (`n/max`, four digits): a blocked key's head is retried past it. */
const MAX_WIRE_ATTEMPT = 9999;

/**
 * The producer side of at-least-once delivery for one route. It keeps every message until a
 * worker acks it, never has more in flight at a worker than the worker's credit, sends each to
 * the worker with the most free credit, and sends it again when the worker fails it (after a
 * back-off), when the ack does not come within `ackTimeout`, or when the worker's connection
 * drops. After `maxAttempts` deliveries, or when a worker refuses it for good, it dead-letters.
 * With a durable outbox (`store`) every message is stored from acceptance to ack; the tracker
 * holds in memory only what its bounds allow and reads the rest back in order (StoredBacklog).
 * A keyed message goes through the KeyGate (one in flight per key) to the worker that owns its key
 * (KeyedLanes); a message past its expiry is not sent again and is dead-lettered as `'expired'`.
 * The tracker takes, sends and answers messages and closes; how a delivery leaves its link and the
 * tracker is DeliveryEndings', what becomes of one not acked (back-off, ack sweep, lost link) is
 * DeliveryRetries'.
 */
export class DeliveryTracker {
  /** Unique per tracker: message ids are `<producerId>.<sequence>`. */
  readonly producerId = randomBytes(6).toString('base64url');
  readonly counters: DeliveryCounters = { acked: 0, redelivered: 0, deadLettered: 0, replayed: 0, expired: 0 };

  private readonly links: DeliveryLinks;
  private readonly deliveries: OutstandingDeliveries;
  /** What waits for a worker's credit, in the order it goes. */
  private readonly waiting: WaitingDeliveries;
  private readonly endings: DeliveryEndings;
  private readonly retries: DeliveryRetries;
  private sequence: number;
  private readonly store: DeliveryStore | undefined;
  private readonly backlog: StoredBacklog | undefined;
  private closed = false;

  constructor(
    linkNames: readonly string[],
    private readonly options: DeliveryTrackerOptions,
  ) {
    this.links = new DeliveryLinks(linkNames);
    this.waiting = new WaitingDeliveries(this.links);
    this.store = options.store;
    this.deliveries = new OutstandingDeliveries(options, this.store !== undefined);
    this.endings = new DeliveryEndings(this.links, this.deliveries, this.waiting, this.counters, options, () => this.refill());
    this.backlog =
      this.store === undefined
        ? undefined
        : new StoredBacklog(
            this.store,
            {
              fits: (size) => this.deliveries.fits(size),
              // What waits for credit stays small: messages read back early only age in the heap.
              room: () => Math.min(this.options.maxQueueSize - this.deliveries.size, 2 * REFILL_BATCH - this.waiting.length),
              hold: (delivery) => this.hold(delivery),
              abandon: (delivery) => {
                if (this.deliveries.holds(delivery)) {
                  this.endings.release(delivery);
                  this.endings.forget(delivery);
                  // Its credit, and its key, are free for the next message.
                  this.pump();
                }
              },
              replayed: () => this.counters.replayed++,
            },
            options,
          );
    this.sequence = this.store?.lastKey ?? 0;
    // What an earlier process stored goes first, in its order.
    this.refill();
    this.retries = new DeliveryRetries(this.links, this.deliveries, this.waiting, this.endings, options, () => this.pump());
  }

  /** Messages not acked yet: waiting, in flight, backing off or (with an outbox) stored only. */
  get outstanding(): number {
    return this.deliveries.size - this.endings.ackedAhead + (this.backlog?.count ?? 0);
  }

  /** Keys whose head is outstanding, and messages waiting behind the head of their key. */
  get keys(): { inFlight: number; waiting: number } {
    return this.waiting.keys;
  }

  /**
   * Accepts a message; `done` hears once a worker has handled it, or why it failed (dead-lettered,
   * refused, closed). Told through a Settle, not a promise: no promise, resolvers and reactions per
   * message. `orderKey` and `expiresAt` are the message's key and expiry (as its record carries them).
   */
  submit(pattern: string, record: EncodedRecord, done: Settle, orderKey?: string, expiresAt?: number): void {
    if (this.closed) {
      done.reject(this.options.errors.closed(pattern));
      return;
    }
    if (this.backlog === undefined && !this.deliveries.fits(record.size)) {
      done.reject(this.options.errors.queueFull(pattern));
      return;
    }
    const key = ++this.sequence;
    const id = `${this.producerId}.${key.toString(36)}`;
    const packed = this.options.pack(id, record);
    if (this.backlog !== undefined) {
      this.backlog.accept({ key, id, pattern, packed, size: record.size, orderKey, expiresAt }, done);
      return;
    }
    this.hold({
      id,
      key,
      pattern,
      packed,
      size: record.size,
      orderKey,
      expiresAt,
      attempt: 0,
      link: undefined,
      ackDeadline: 0,
      done,
    });
  }

  /**
   * Takes what waits in the outbox into memory once little is left waiting for credit, a batch at
   * a time (not one read per ack, and not more than the workers' credit will soon take).
   */
  private refill(): void {
    if (this.backlog === undefined || this.closed || this.backlog.count === 0) {
      return;
    }
    if (this.waiting.length >= REFILL_BATCH) {
      return;
    }
    this.backlog.readBack();
  }

  private hold(delivery: Delivery): void {
    this.deliveries.add(delivery);
    this.waiting.add(delivery);
    this.pump();
  }

  /** A worker announced its window (0 withdraws it: it is closing). */
  credit(linkName: string, window: number): void {
    if (this.links.credit(linkName, window)) {
      this.pump();
    }
  }

  /**
   * The worker on `linkName` answered delivery `id`: 'a' handled, 'f' failed (retry), 'x' refused
   * for good. False when the id is unknown (acked already, or not this tracker's).
   */
  settle(linkName: string, id: string, status: Exclude<DeliveryStatus, 'h'>, reason: string): boolean {
    const wasLate = this.links.answeredLate(linkName, id);
    const delivery = this.deliveries.get(id);
    if (delivery === undefined || ((status !== 'a' || delivery.acked === true) && delivery.link !== linkName)) {
      // A late failure of an attempt that already counted as failed (it timed out): the current attempt decides.
      if (wasLate) {
        this.pump();
      }
      return wasLate || delivery !== undefined;
    }
    if (delivery.acked === true) {
      // The repeat that ran on after an earlier attempt's ack has ended: its key moves on.
      this.endings.release(delivery);
      this.endings.forget(delivery);
      this.pump();
      return true;
    }
    if (status === 'a' && delivery.orderKey !== undefined && delivery.link !== undefined && delivery.link !== linkName) {
      // An earlier attempt's ack, read after the message was sent again (its first worker dropped):
      // it is handled, but the repeat runs on elsewhere and the key's next message must not overtake it.
      this.endings.ackAhead(delivery);
      return true;
    }
    this.endings.release(delivery);
    if (status === 'a') {
      this.endings.acknowledge(delivery);
      this.endings.forget(delivery);
      delivery.done.resolve();
    } else {
      this.retries.failed(delivery, reason, status === 'x');
    }
    this.pump();
    return true;
  }

  /**
   * The worker on `linkName` did not run delivery `id` ('h'): it came on a connection that had not
   * said hello there (sent before a reconnect, or to a worker that forgot this producer). As a
   * refused send: it goes again at once, and that link's credit waits for a new hello.
   * False when the id is unknown.
   */
  unheard(linkName: string, id: string): boolean {
    const delivery = this.deliveries.get(id);
    if (delivery !== undefined) {
      this.refused(delivery, linkName);
      return true;
    }
    // Acked elsewhere meanwhile: a late credit held for it there is free.
    const wasLate = this.links.answeredLate(linkName, id);
    if (wasLate) {
      this.pump();
    }
    return wasLate;
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
    this.links.lost(linkName, lostAt);
    // Its keys have other owners now: the heads that waited for its credit go to them.
    this.pump();
    this.retries.resendLost(linkName, lostAt);
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
    this.pump();
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
    await this.deliveries.idle(timeout);
    this.retries.close();
    const left = this.deliveries.all().filter((delivery) => {
      if (delivery.acked === true) {
        this.endings.forget(delivery);
        return false;
      }
      return true;
    });
    // With an outbox and resolveOn 'stored' the emits resolved already: no error to build (a
    // stack trace each, for up to maxQueueSize messages that simply stay stored).
    const told = this.store === undefined || this.options.resolveOn === 'acked';
    for (const delivery of left) {
      this.endings.forget(delivery);
      if (told) {
        delivery.done.reject(this.options.errors.closed(delivery.pattern));
      }
    }
    this.backlog?.rejectAll(() => this.options.errors.closed('(stored)'));
    this.waiting.clear();
    // Messages left in an outbox are not dropped: the next start replays them.
    return this.store === undefined ? left.length : 0;
  }

  /** Sends what waits while workers have free credit. */
  private pump(): void {
    this.waiting.send(this.sendable, this.sendTo);
  }

  /** Whether a delivery taken from a queue is still to be sent (one that expired meanwhile is dead-lettered here). */
  private readonly sendable = (delivery: Delivery): boolean => {
    if (!this.deliveries.holds(delivery) || delivery.link !== undefined) {
      return false;
    }
    if (delivery.expiresAt !== undefined && isExpired(delivery, Date.now())) {
      this.endings.deadLetter(delivery, EXPIRED);
      return false;
    }
    return true;
  };

  private readonly sendTo = (delivery: Delivery, link: DeliveryLink): void => this.send(delivery, link);

  private send(delivery: Delivery, link: DeliveryLink): void {
    delivery.attempt++;
    if (delivery.replayed === true) {
      delivery.replayed = false;
    } else if (delivery.attempt > 1) {
      this.counters.redelivered++;
      delivery.packed = this.options.repack(delivery.packed, Math.min(delivery.attempt, MAX_WIRE_ATTEMPT));
      this.store?.update(delivery.key, delivery.packed);
    }
    delivery.link = link.name;
    delivery.ackDeadline = Date.now() + this.options.ackTimeout;
    this.links.sent(link);
    this.deliveries.sent();
    // No promise per delivery: only a refusal needs telling (from a later microtask, never from
    // inside this pump).
    this.options.transmit(link.name, delivery, { resolve: taken, reject: () => queueMicrotask(() => this.refused(delivery, link.name)) });
  }

  /**
   * The socket did not take a delivery (send timeout, closing), or its worker did not run it ('h'):
   * the link's credit is void until its worker announces it again; meanwhile others get the message.
   */
  private refused(delivery: Delivery, linkName: string): void {
    if (delivery.link !== linkName) {
      // It timed out there first: that worker never got it and will not answer, so the late
      // credit it holds there is free.
      if (this.links.answeredLate(linkName, delivery.id)) {
        this.pump();
      }
      return;
    }
    this.links.voidCredit(linkName);
    this.endings.release(delivery);
    delivery.attempt--;
    this.retries.requeue(delivery);
    if (!this.closed) {
      this.options.requestCredit(linkName);
    }
  }
}
