import type { EncodedRecord, Fragment } from '../protocol/wire.js';
import type { Delivery, DeliveryTrackerOptions } from './delivery.js';
import type { DeliveryStore, StoredDelivery } from './delivery-store.js';

/** How the emit of a message is told of its ack, when it waits for one (`resolveOn: 'acked'`). */
interface EmitSettles {
  resolve(): void;
  reject(error: Error): void;
}

const IGNORED: EmitSettles = { resolve: () => undefined, reject: () => undefined };

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
 * what an earlier process stored is read back first (a replay).
 */
export class StoredBacklog {
  /** Messages stored and not taken into memory. */
  count: number;
  /** The key of the last message the tracker took into memory. */
  private cursor = 0;
  /** Keys up to this one were stored by an earlier process: reading them back is a replay. */
  private readonly replayUpTo: number;
  private readonly settles = new Map<number, EmitSettles>();
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
   * Stores a new message, then resolves (`resolveOn: 'stored'`) or waits for its ack. It is held
   * (and sent) at once when the tracker has room, before its write commits: a store that then
   * fails rejects the emit although a worker may handle it (at least once, never silently lost).
   */
  accept(key: number, id: string, pattern: string, packed: Fragment, record: EncodedRecord, data: unknown): Promise<void> {
    const store = this.store;
    if (store.count > 0 && store.bytes + record.size > store.maxBytes) {
      return Promise.reject(this.options.errors.outboxFull(pattern, store));
    }
    const stored = store.add(key, packed);
    let acked: Promise<void> | undefined;
    let settles = IGNORED;
    if (this.options.resolveOn === 'acked') {
      acked = new Promise<void>((resolve, reject) => (settles = { resolve, reject }));
      // Handled by the chain below; this only keeps an early rejection from being unhandled.
      acked.catch(() => undefined);
    }
    let held: Delivery | undefined;
    if (this.count === 0 && this.tracker.fits(record.size)) {
      this.cursor = key;
      held = { id, key, pattern, packed, size: record.size, data, attempt: 0, link: undefined, ackDeadline: 0, ...settles };
      this.tracker.hold(held);
    } else {
      this.count++;
      if (acked !== undefined) {
        this.settles.set(key, settles);
      }
    }
    return stored.then(
      () => acked,
      (error: unknown) => {
        if (held === undefined) {
          // Not in the store: it will not be read back.
          this.count--;
          this.settles.delete(key);
        } else {
          this.tracker.abandon(held);
        }
        throw this.options.errors.notStored(pattern, error as Error);
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
    const { id, attempt, pattern } = this.options.readPacked(packed);
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
      data: undefined,
      fromStore: true,
      attempt: replayed ? attempt - 1 : 0,
      replayed,
      link: undefined,
      ackDeadline: 0,
      resolve: settles.resolve,
      reject: settles.reject,
    };
  }
}
