import { BoundedMap } from '../util/bounded-map.js';

/** Where a worker also keeps completed ids, on disk (the server's `ledger` option): LmdbLedger. */
export interface CompletedIds {
  has(id: string): boolean;
  record(id: string): Promise<void>;
}

/** What to do with an at-least-once delivery that arrives. */
export type DeliveryAdmission = 'run' | 'ack-again' | 'ignore';

/**
 * A worker's memory of at-least-once deliveries: which ids are running now and which completed
 * (the last `window` of them). A redelivery of a completed message is acked again without running;
 * one that arrives while the first run is still going is ignored (that run will ack it). With a
 * durable ledger (`onDisk`) a completed id is also written to disk before its ack, and looked up
 * there when memory does not have it: a restarted worker does not run it again.
 */
export class DeliveryLedger {
  private readonly completed: BoundedMap<string, true>;
  private readonly running = new Set<string>();

  constructor(
    window: number,
    private readonly onDisk?: CompletedIds,
  ) {
    this.completed = new BoundedMap(window);
  }

  /** Admits a delivery; after 'run' the caller must call `finish(id, ...)`. */
  admit(id: string): DeliveryAdmission {
    if (this.completed.has(id) || this.onDisk?.has(id) === true) {
      return 'ack-again';
    }
    if (this.running.has(id)) {
      return 'ignore';
    }
    this.running.add(id);
    return 'run';
  }

  /** Writes a completed id to disk, if the ledger keeps one there: before the ack leaves. */
  persist(id: string): Promise<void> | undefined {
    return this.onDisk?.record(id);
  }

  finish(id: string, succeeded: boolean): void {
    this.running.delete(id);
    if (succeeded) {
      this.completed.set(id, true);
    }
  }
}
