import { BoundedMap } from '../util/bounded-map.js';

/** What to do with an at-least-once delivery that arrives. */
export type DeliveryAdmission = 'run' | 'ack-again' | 'ignore';

/**
 * A worker's memory of at-least-once deliveries: which ids are running now and which completed
 * (the last `window` of them). A redelivery of a completed message is acked again without running;
 * one that arrives while the first run is still going is ignored (that run will ack it).
 */
export class DeliveryLedger {
  private readonly completed: BoundedMap<string, true>;
  private readonly running = new Set<string>();

  constructor(window: number) {
    this.completed = new BoundedMap(window);
  }

  /** Admits a delivery; after 'run' the caller must call `finish(id, ...)`. */
  admit(id: string): DeliveryAdmission {
    if (this.completed.has(id)) {
      return 'ack-again';
    }
    if (this.running.has(id)) {
      return 'ignore';
    }
    this.running.add(id);
    return 'run';
  }

  finish(id: string, succeeded: boolean): void {
    this.running.delete(id);
    if (succeeded) {
      this.completed.set(id, true);
    }
  }
}
