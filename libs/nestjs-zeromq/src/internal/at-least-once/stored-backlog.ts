import type { DeliveryStore, StoredDelivery } from './delivery-store.js';

/** How the emit of a message that waits in the outbox only is told of its ack (`resolveOn: 'acked'`). */
export interface EmitSettles {
  resolve(): void;
  reject(error: Error): void;
}

/** Most messages read back from the outbox in one go. */
const READ_BATCH = 256;

/**
 * The messages of a route's outbox that the tracker does not hold in memory: stored, not read
 * back yet (more than `maxQueueSize` / `maxQueueBytes` accepted, or stored by an earlier process).
 * They are all newer than what the tracker holds, since a new message joins them while any wait,
 * so a count and a cursor (the last key read) describe them; the store keeps their bytes.
 */
export class StoredBacklog {
  /** Messages stored and not read back. */
  count: number;
  /** The key of the last message the tracker took into memory. */
  cursor = 0;
  /** Keys up to this one were stored by an earlier process: reading them back is a replay. */
  readonly replayUpTo: number;
  private readonly settles = new Map<number, EmitSettles>();
  private waitingForCommit = false;

  constructor(private readonly store: DeliveryStore) {
    this.count = store.count;
    this.replayUpTo = store.lastKey;
  }

  /** A new message that went to the store only. */
  park(key: number, settles: EmitSettles | undefined): void {
    this.count++;
    if (settles !== undefined) {
      this.settles.set(key, settles);
    }
  }

  /** A parked message whose write failed: it is not in the store and will not be read back. */
  drop(key: number): void {
    this.count--;
    this.settles.delete(key);
  }

  /**
   * Reads parked messages back, oldest first, while `fits` says the tracker has room (at most
   * `limit`). Writes not committed yet are not visible: if none could be read, `retry` runs once
   * the store has committed.
   */
  read(limit: number, fits: (bytes: number) => boolean, retry: () => void): Array<StoredDelivery & { settles?: EmitSettles }> {
    if (this.count === 0 || limit <= 0) {
      return [];
    }
    const taken: Array<StoredDelivery & { settles?: EmitSettles }> = [];
    const read = this.store.readAfter(this.cursor, Math.min(limit, READ_BATCH));
    for (const stored of read) {
      if (!fits(stored.packed.length)) {
        break;
      }
      this.cursor = stored.key;
      this.count--;
      const settles = this.settles.get(stored.key);
      this.settles.delete(stored.key);
      taken.push(settles === undefined ? stored : { ...stored, settles });
    }
    if (read.length === 0 && !this.waitingForCommit) {
      this.waitingForCommit = true;
      this.store.committed().then(
        () => {
          this.waitingForCommit = false;
          retry();
        },
        () => {
          this.waitingForCommit = false;
        },
      );
    }
    return taken;
  }

  /** Tells the emits still waiting for an ack that the client closed (their messages stay stored). */
  rejectAll(error: () => Error): void {
    for (const settles of this.settles.values()) {
      settles.reject(error());
    }
    this.settles.clear();
  }
}
