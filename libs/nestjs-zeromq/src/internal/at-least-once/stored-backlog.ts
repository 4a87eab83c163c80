import type { Settle } from '../sockets/send-queue.js';
import type { Delivery, DeliveryTrackerOptions } from './delivery.js';
import type { DeliveryStore, StoredDelivery } from './delivery-store.js';

/** The emit of a message that does not wait for its ack (`resolveOn: 'stored'`): told when stored. */
const IGNORED: Settle = { resolve: () => undefined, reject: () => undefined };

/** A message as the tracker accepts it. */
export type NewMessage = Pick<Delivery, 'key' | 'id' | 'pattern' | 'packed' | 'size' | 'orderKey' | 'expiresAt'>;

/** Messages read from the store per range read, and reads per readBack() at most. */
const READ_BATCH = 256;
const MAX_ROUNDS = 16;

/** What the backlog needs of its tracker. */
export interface BacklogTracker {
  /** Whether a message of `size` bytes fits in the tracker's memory now (a lone one always does). */
  fits(size: number): boolean;
  /** Messages the tracker can still take into memory. */
  room(): number;
  /** Takes a delivery into memory; it is sent when a worker has credit. */
  hold(delivery: Delivery): void;
  /** Forgets a held delivery whose write failed. */
  abandon(delivery: Delivery): void;
  /** Counts a message read back that an earlier process had stored. */
  replayed(): void;
}

/**
 * A route's durable outbox as its tracker uses it: every message is stored when accepted, and the
 * tracker holds in memory only what its bounds allow. The others wait in the store, all newer
 * than what the tracker holds (a new message joins them while any wait), so a count and a cursor
 * (the last key taken into memory) describe them; they are read back in order as room frees, and
 * what an earlier process stored is read back first (a replay). A keyed message read back goes
 * through the tracker's key gate as a new one does: a replay keeps one message per key in flight.
 */
export class StoredBacklog {
  /** Messages stored and not taken into memory. */
  count: number;
  /** The key of the last message the tracker took into memory. */
  private cursor = 0;
  /** Keys up to this one were stored by an earlier process: reading them back is a replay. */
  private readonly replayUpTo: number;
  /** The emits of stored messages not in memory that wait for their ack (`resolveOn: 'acked'`). */
  private readonly settles = new Map<number, Settle>();
  private waitingForCommit = false;

  constructor(
    private readonly store: DeliveryStore,
    private readonly tracker: BacklogTracker,
    private readonly options: Pick<DeliveryTrackerOptions, 'resolveOn' | 'readPacked' | 'place' | 'errors'>,
  ) {
    this.count = store.count;
    this.replayUpTo = store.lastKey;
  }

  /** The key the next message gets: after everything stored. */
  get lastKey(): number {
    return this.store.lastKey;
  }

  /**
   * Stores a new message; `done` hears once it is stored (`resolveOn: 'stored'`) or acked. It is
   * held (and sent) at once when the tracker has room, before its write commits: a store that then
   * fails fails the emit although a worker may handle it (at least once, never silently lost).
   */
  accept(message: NewMessage, done: Settle): void {
    const { key, pattern, packed, size } = message;
    const store = this.store;
    if (store.count > 0 && store.bytes + size > store.maxBytes) {
      store.full = true;
      done.reject(this.options.errors.outboxFull(pattern, store));
      return;
    }
    const stored = store.add(key, packed);
    const waitsForAck = this.options.resolveOn === 'acked';
    let held: Delivery | undefined;
    if (this.count === 0 && this.tracker.fits(size)) {
      this.cursor = key;
      held = { ...message, attempt: 0, link: undefined, ackDeadline: 0, done: waitsForAck ? done : IGNORED };
      this.tracker.hold(held);
    } else {
      this.count++;
      if (waitsForAck) {
        this.settles.set(key, done);
      }
    }
    stored.then(
      () => {
        if (!waitsForAck) {
          done.resolve();
        }
      },
      (error: unknown) => {
        if (held === undefined) {
          // Not in the store: it will not be read back.
          this.count--;
          this.settles.delete(key);
        } else {
          this.tracker.abandon(held);
        }
        done.reject(this.options.errors.notStored(pattern, error as Error));
      },
    );
  }

  /**
   * Takes stored messages into the tracker while it has room, oldest first. Writes not committed
   * yet are not visible: if none could be read, it tries again once the store has committed.
   */
  readBack(): void {
    let read: StoredDelivery[] = [];
    // Bounded: each round takes up to READ_BATCH messages or stops.
    for (let round = 0; round < MAX_ROUNDS && this.count > 0; round++) {
      read = this.store.readAfter(this.cursor, Math.min(this.tracker.room(), READ_BATCH));
      for (const stored of read) {
        if (!this.tracker.fits(stored.packed.length)) {
          return;
        }
        this.cursor = stored.key;
        this.count--;
        this.tracker.hold(this.deliveryOf(stored));
      }
      if (read.length < READ_BATCH) {
        break;
      }
    }
    if (read.length === 0 && !this.waitingForCommit && this.tracker.room() > 0) {
      this.waitingForCommit = true;
      this.store.committed().then(
        () => {
          this.waitingForCommit = false;
          this.readBack();
        },
        () => {
          this.waitingForCommit = false;
        },
      );
    }
  }

  /** Tells the emits still waiting for an ack that the client closed (their messages stay stored). */
  rejectAll(error: () => Error): void {
    for (const settles of this.settles.values()) {
      settles.reject(error());
    }
    this.settles.clear();
  }

  private deliveryOf(stored: StoredDelivery): Delivery {
    const packed = this.options.place(stored.packed);
    const { id, attempt, pattern, orderKey, expiresAt } = this.options.readPacked(packed);
    const replayed = stored.key <= this.replayUpTo;
    if (replayed) {
      this.tracker.replayed();
    }
    const settles = this.settles.get(stored.key) ?? IGNORED;
    this.settles.delete(stored.key);
    return {
      id,
      key: stored.key,
      pattern,
      packed,
      size: packed.end - packed.start,
      orderKey,
      expiresAt,
      attempt: replayed ? attempt - 1 : 0,
      replayed,
      link: undefined,
      ackDeadline: 0,
      done: settles,
    };
  }
}
