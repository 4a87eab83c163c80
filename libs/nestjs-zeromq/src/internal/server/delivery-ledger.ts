import { freshIfEmpty } from '../util/fresh-map.js';
import { CompletedWindow } from './completed-window.js';

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
 * one that arrives while the first run is still going is not run, but its peer is remembered: the
 * run's answer goes to every peer that sent the id, because a redelivery can come over a new
 * connection (a reconnect) while the first one's peer is gone, and its producer counts on an
 * answer there (the credit it holds for it). With a
 * durable ledger (`onDisk`) a completed id is also written to disk before its ack, and looked up
 * there when memory does not have it: a restarted worker does not run it again.
 */
export class DeliveryLedger {
  private readonly completed: CompletedWindow;
  /** Ids running now, each with the peers (routing ids) that sent it. Replaced when it empties: see freshIfEmpty. */
  private running = new Map<string, Buffer[]>();

  constructor(
    window: number,
    private readonly onDisk?: CompletedIds,
  ) {
    this.completed = new CompletedWindow(window);
  }

  /** Admits a delivery `peer` sent; after 'run' the caller must call `finish(id, ...)`. */
  admit(id: string, peer: Buffer): DeliveryAdmission {
    if (this.completed.has(id) || this.onDisk?.has(id) === true) {
      return 'ack-again';
    }
    const peers = this.running.get(id);
    if (peers !== undefined) {
      if (!peers.some((known) => known.equals(peer))) {
        peers.push(peer);
      }
      return 'ignore';
    }
    this.running.set(id, [peer]);
    return 'run';
  }

  /** Writes a completed id to disk, if the ledger keeps one there: before the ack leaves. */
  persist(id: string): Promise<void> | undefined {
    return this.onDisk?.record(id);
  }

  /** The run of `id` ended: returns the peers to answer, each peer that sent it once. */
  finish(id: string, succeeded: boolean): readonly Buffer[] {
    const peers = this.running.get(id) ?? [];
    this.running.delete(id);
    this.running = freshIfEmpty(this.running);
    if (succeeded) {
      this.completed.add(id);
    }
    return peers;
  }
}
