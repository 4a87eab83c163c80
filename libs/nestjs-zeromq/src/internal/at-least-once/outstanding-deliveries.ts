import { settlesWithin } from '../util/deadline.js';
import { freshIfEmpty } from '../util/fresh-map.js';
import { hasRoomFor, type QueueLimits } from '../util/queue-room.js';
import type { Delivery } from './delivery.js';
import { isExpired } from './delivery-failures.js';

/**
 * The messages a tracker holds in memory until they are acked or dead-lettered, by id: their
 * count and bytes against the queue's limits, how many are in flight, and who waits for the
 * tracker to be idle. Idle is nothing held at all or, with an outbox (`inFlightOnly`), nothing in
 * flight: stored messages wait for the next start, and a close does not wait for an outage to end.
 */
export class OutstandingDeliveries {
  /** Replaced when it empties: see freshIfEmpty. */
  private byId = new Map<string, Delivery>();
  private bytes = 0;
  private inFlight = 0;
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly limits: QueueLimits,
    private readonly inFlightOnly: boolean,
  ) {}

  get size(): number {
    return this.byId.size;
  }

  get(id: string): Delivery | undefined {
    return this.byId.get(id);
  }

  /** Whether `delivery` is still held (not acked, dead-lettered or dropped since). */
  holds(delivery: Delivery): boolean {
    return this.byId.get(delivery.id) === delivery;
  }

  /** Whether a message of `size` bytes fits in memory (a lone one always does). */
  fits(size: number): boolean {
    return hasRoomFor(this.limits, this.byId.size, this.bytes, size);
  }

  add(delivery: Delivery): void {
    this.byId.set(delivery.id, delivery);
    this.bytes += delivery.size;
  }

  remove(delivery: Delivery): void {
    this.byId.delete(delivery.id);
    this.byId = freshIfEmpty(this.byId);
    this.bytes -= delivery.size;
    this.notifyIfIdle();
  }

  /** Everything held, in the order it was accepted (the held map is emptied by the caller's `remove`s). */
  all(): Delivery[] {
    return [...this.byId.values()];
  }

  /**
   * What the ack sweep gives up on at `now`: in flight past its ack deadline, or not in flight and
   * expired (one in flight may still be acked: a worker that gets it late refuses it as expired).
   */
  late(now: number): Delivery[] {
    return this.all().filter((delivery) => (delivery.link === undefined ? isExpired(delivery, now) : delivery.ackDeadline <= now));
  }

  /** What is in flight on `link` and was sent at or before `time`. */
  sentOn(link: string, time: number, ackTimeout: number): Delivery[] {
    return this.all().filter((delivery) => delivery.link === link && delivery.ackDeadline - ackTimeout <= time);
  }

  /** A held delivery went out on a link. */
  sent(): void {
    this.inFlight++;
  }

  /** A delivery is no longer in flight (answered, timed out, lost or refused). */
  landed(): void {
    this.inFlight--;
    this.notifyIfIdle();
  }

  /** Resolves once the tracker is idle, or after `timeout` ms. */
  async idle(timeout: number): Promise<void> {
    if (!this.isIdle()) {
      await settlesWithin(new Promise<void>((resolve) => this.idleWaiters.push(resolve)), timeout);
    }
  }

  private isIdle(): boolean {
    return this.inFlightOnly ? this.inFlight === 0 : this.byId.size === 0;
  }

  private notifyIfIdle(): void {
    if (this.idleWaiters.length > 0 && this.isIdle()) {
      for (const resolve of this.idleWaiters.splice(0)) {
        resolve();
      }
    }
  }
}
