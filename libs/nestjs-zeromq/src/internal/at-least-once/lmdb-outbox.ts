import type { Fragment } from '../protocol/wire.js';
import type { DeliveryStore, StoredDeadLetter, StoredDelivery } from './delivery-store.js';
import { DiskSpace } from './disk-space.js';
import { LmdbEnvironment, type LmdbDatabase, type LmdbRoot } from './lmdb-environment.js';

/** How sure "stored" is: committed (survives a process crash) or flushed (survives power loss). */
export type OutboxDurability = 'commit' | 'flush';

export interface OutboxStoreOptions {
  path: string;
  durability: OutboxDurability;
  /** Where a write that failed after its emit resolved is reported (an ack's removal, say). */
  onWriteError: (what: string, error: Error) => void;
}

/** Bytes before a stored message's packed fields: when it was accepted (float64, ms). */
const HEADER_BYTES = 8;

/**
 * A durable outbox on disk: an LMDB environment (lmdb-js) at `path` with, per at-least-once route,
 * a table of messages not acked yet and a table of dead letters. lmdb-js commits on its own
 * thread: the writes of one event turn share one transaction, so many emits share one commit (and
 * one flush at the 'flush' level) without blocking the event loop.
 */
export class LmdbOutbox {
  private readonly routes = new Map<string, LmdbRouteStore>();
  private readonly space: DiskSpace;

  private constructor(
    private readonly environment: LmdbEnvironment,
    private readonly options: OutboxStoreOptions,
  ) {
    this.space = new DiskSpace(environment.path);
  }

  get path(): string {
    return this.environment.path;
  }

  private get root(): LmdbRoot {
    return this.environment.root;
  }

  /** Opens (or creates) the outbox; a clear error if lmdb is missing, the path is locked or the store is damaged. */
  static async open(options: OutboxStoreOptions): Promise<LmdbOutbox> {
    return new LmdbOutbox(await LmdbEnvironment.open(options.path, 'outbox'), options);
  }

  /** The store of one route (its two tables), read once to count what it holds. */
  route(name: string, maxBytes: number): LmdbRouteStore {
    let store = this.routes.get(name);
    if (store === undefined) {
      store = new LmdbRouteStore(this.root, name, maxBytes, this.space, { ...this.options, path: this.path });
      this.routes.set(name, store);
    }
    return store;
  }

  /** The routes that have tables in this outbox (for the CLI). */
  routeNames(): string[] {
    const names = new Set<string>();
    for (const key of this.root.getKeys()) {
      const match = typeof key === 'string' ? /^(?:outbox|dead-letters)\/(.+)$/.exec(key) : null;
      if (match !== null) {
        names.add(match[1]);
      }
    }
    return [...names].sort();
  }

  /** Waits for the last writes (flushed), closes the store and releases the lock. */
  close(): Promise<void> {
    return this.environment.close();
  }
}

/** One route's messages and dead letters in an LmdbOutbox. */
export class LmdbRouteStore implements DeliveryStore {
  count = 0;
  bytes = 0;
  readonly maxBytes: number;
  lastKey: number;
  /** The tables, for the CLI's inspect / requeue / purge (outbox-admin.ts). */
  readonly messages: LmdbDatabase;
  readonly deadLetters: LmdbDatabase;
  /** Sizes of stored messages by key, for `bytes` when one is removed. */
  private readonly sizes = new Map<number, number>();

  constructor(
    private readonly root: LmdbRoot,
    route: string,
    maxBytes: number,
    private readonly space: DiskSpace,
    private readonly options: OutboxStoreOptions,
  ) {
    this.maxBytes = maxBytes;
    this.messages = root.openDB({ name: `outbox/${route}`, encoding: 'binary', keyEncoding: 'ordered-binary' });
    this.deadLetters = root.openDB({ name: `dead-letters/${route}`, keyEncoding: 'ordered-binary' });
    let lastKey = 0;
    for (const { key, value } of this.messages.getRange({ snapshot: false })) {
      const size = (value as Buffer).length;
      this.sizes.set(key, size);
      this.bytes += size;
      this.count++;
      lastKey = key;
    }
    for (const { key } of this.deadLetters.getRange({ reverse: true, limit: 1 })) {
      lastKey = Math.max(lastKey, key);
    }
    this.lastKey = lastKey;
  }

  async add(key: number, packed: Fragment): Promise<void> {
    const value = withHeader(Date.now(), packed);
    this.space.claim(value.length);
    this.sizes.set(key, value.length);
    this.bytes += value.length;
    this.count++;
    try {
      await this.messages.put(key, value);
      if (this.options.durability === 'flush') {
        await this.root.flushed;
      }
    } catch (error) {
      this.forget(key);
      throw writeFailure(this.options.path, error as Error);
    }
  }

  update(key: number, packed: Fragment): void {
    const value = this.messages.get(key) as Buffer | undefined;
    // A redelivery's attempt number is worth no disk space of the reserve: it is kept in memory.
    if (value !== undefined && this.claimed(value.length)) {
      this.track('update', this.messages.put(key, withHeader(value.readDoubleBE(0), packed)));
    }
  }

  remove(key: number): void {
    if (this.forget(key)) {
      this.track('remove', this.messages.remove(key));
    }
  }

  deadLetter(key: number, letter: Omit<StoredDeadLetter, 'packed' | 'storedAt'>): void {
    const value = this.messages.get(key) as Buffer | undefined;
    if (!this.forget(key) || value === undefined) {
      return;
    }
    const stored: StoredDeadLetter = { ...letter, storedAt: value.readDoubleBE(0), packed: value.subarray(HEADER_BYTES) };
    this.track(
      'dead-letter',
      this.root.transaction(() => {
        void this.deadLetters.put(key, stored);
        void this.messages.remove(key);
      }),
    );
  }

  readAfter(after: number, limit: number): StoredDelivery[] {
    const read: StoredDelivery[] = [];
    for (const { key, value } of this.messages.getRange({ start: after + 1, limit, snapshot: false })) {
      const bytes = value as Buffer;
      // Copied: the bytes outlive this read and are sent without another copy.
      read.push({ key, storedAt: bytes.readDoubleBE(0), packed: Buffer.from(bytes.subarray(HEADER_BYTES)) });
    }
    return read;
  }

  async committed(): Promise<void> {
    await this.root.committed;
  }

  oldestStoredAt(): number | undefined {
    for (const { value } of this.messages.getRange({ limit: 1 })) {
      return (value as Buffer).readDoubleBE(0);
    }
    return undefined;
  }

  deadLetterCount(): number {
    return this.deadLetters.getCount();
  }

  private claimed(bytes: number): boolean {
    try {
      this.space.claim(bytes);
      return true;
    } catch {
      return false;
    }
  }

  private forget(key: number): boolean {
    const size = this.sizes.get(key);
    if (size === undefined) {
      return false;
    }
    this.sizes.delete(key);
    this.bytes -= size;
    this.count--;
    return true;
  }

  private track(what: string, write: Promise<unknown>): void {
    write.catch((error: unknown) => this.options.onWriteError(what, writeFailure(this.options.path, error as Error)));
  }
}

/** A failed write, with where it went. */
function writeFailure(path: string, error: Error): Error {
  return new Error(`${error.message} (writing to ${path})`, { cause: error });
}

function withHeader(storedAt: number, packed: Fragment): Buffer {
  const value = Buffer.allocUnsafe(HEADER_BYTES + packed.end - packed.start);
  value.writeDoubleBE(storedAt, 0);
  packed.slab.copy(value, HEADER_BYTES, packed.start, packed.end);
  return value;
}
