import { LmdbEnvironment, type LmdbDatabase } from './lmdb-environment.js';

/** Ids removed from the ledger in one go once it holds more than its window. */
const PRUNE_EVERY = 1_024;

/**
 * A worker's memory of the at-least-once messages it completed, on disk (server option `ledger`):
 * an id is written, and committed, before its ack leaves, so that a worker restarted after a
 * crash acks a redelivery of it again instead of running it twice. It keeps the last `window`
 * ids (the server's `dedupeWindow`), oldest removed first. One worker process per path.
 */
export class LmdbLedger {
  private readonly completed: LmdbDatabase;
  private readonly order: LmdbDatabase;
  private sequence = 0;
  private prunedUpTo = 0;

  private constructor(
    private readonly environment: LmdbEnvironment,
    private readonly window: number,
  ) {
    this.completed = environment.root.openDB({ name: 'completed', keyEncoding: 'ordered-binary' });
    this.order = environment.root.openDB({ name: 'order', keyEncoding: 'ordered-binary' });
    for (const { key } of this.order.getRange({ reverse: true, limit: 1 })) {
      this.sequence = key;
    }
    for (const { key } of this.order.getRange({ limit: 1 })) {
      this.prunedUpTo = key - 1;
    }
  }

  static async open(path: string, window: number): Promise<LmdbLedger> {
    return new LmdbLedger(await LmdbEnvironment.open(path, 'ledger'), window);
  }

  /** Whether message `id` was completed here (by this process or an earlier one). */
  has(id: string): boolean {
    return this.completed.get(id) !== undefined;
  }

  /** Writes that message `id` completed; resolves once the write is committed (survives a crash of this process). */
  async record(id: string): Promise<void> {
    const sequence = ++this.sequence;
    const written = Promise.all([this.completed.put(id, sequence), this.order.put(sequence, id)]);
    if (sequence - this.window - this.prunedUpTo >= PRUNE_EVERY) {
      this.prune(sequence - this.window);
    }
    await written;
  }

  close(): Promise<void> {
    return this.environment.close();
  }

  private prune(upTo: number): void {
    for (const { key, value } of this.order.getRange({ start: this.prunedUpTo + 1, end: upTo + 1 })) {
      void this.completed.remove(value as string);
      void this.order.remove(key);
    }
    this.prunedUpTo = upTo;
  }
}
