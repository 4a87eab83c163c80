import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { ZeroMqOutboxError } from '../../zeromq.errors.js';
import { OutboxLock } from './outbox-lock.js';
import { checkStoreReadable } from './store-check.js';

/** The part of lmdb-js this library uses (the package is an optional peer: its types are not required). */
export interface LmdbDatabase {
  put(key: number | string, value: unknown): Promise<boolean>;
  remove(key: number | string): Promise<boolean>;
  get(key: number | string): unknown;
  getRange(options: { start?: number; end?: number; limit?: number; reverse?: boolean; snapshot?: boolean }): Iterable<{
    key: number;
    value: unknown;
  }>;
  getCount(options?: object): number;
}
export interface LmdbRoot extends LmdbDatabase {
  getKeys(): Iterable<unknown>;
  openDB(options: { name: string; encoding?: string; keyEncoding?: string }): LmdbDatabase;
  transaction<T>(action: () => T): Promise<T>;
  readonly committed: Promise<unknown>;
  readonly flushed: Promise<unknown>;
  close(): Promise<void>;
}
interface LmdbModule {
  open(options: object): LmdbRoot;
}

/** Store paths open in this process: the pid lock cannot tell two users in one process apart. */
const openPaths = new Set<string>();

/**
 * An LMDB environment (lmdb-js) at a path, held by this process alone: the durable outbox of a
 * client and the durable ledger of a server are each one. Opening checks, in this order, that
 * `lmdb` is installed, that no other user holds the path (OutboxLock), and that an existing store
 * can be read (store-check.ts); each failure is a ZeroMqOutboxError naming the path.
 */
export class LmdbEnvironment {
  private constructor(
    readonly path: string,
    readonly root: LmdbRoot,
    private readonly lock: OutboxLock,
  ) {}

  /** @param what what the store is, for errors ("outbox", "ledger") */
  static async open(path: string, what: string): Promise<LmdbEnvironment> {
    const absolute = resolve(path);
    if (openPaths.has(absolute)) {
      throw new ZeroMqOutboxError(`the ${what} at ${absolute} is already open in this process (one user per path)`);
    }
    const lmdb = await loadLmdb(what);
    mkdirSync(absolute, { recursive: true });
    const lock = OutboxLock.acquire(absolute, what);
    let root: LmdbRoot;
    try {
      await checkStoreReadable(absolute, import.meta.resolve('lmdb'), what);
      // No event-turn batching: with it, lmdb-js 3.5 leaves a promise of its own unhandled when a
      // commit fails (ENOSPC would end the process). Without it, writes queued while a commit runs
      // still share the next one (group commit), and the commit's failure reaches each write.
      root = lmdb.open({ path: absolute, maxDbs: 64, compression: false, eventTurnBatching: false });
      root.getCount();
    } catch (error) {
      lock.release();
      if (error instanceof ZeroMqOutboxError) {
        throw error;
      }
      throw new ZeroMqOutboxError(
        `the ${what} at ${absolute} cannot be opened: ${(error as Error).message}. If the store is damaged, move the directory aside and start again; docs/delivery.md, "Durable outbox"`,
        { cause: error },
      );
    }
    openPaths.add(absolute);
    return new LmdbEnvironment(absolute, root, lock);
  }

  /** Waits for the last writes (flushed), closes the environment and releases the lock. */
  async close(): Promise<void> {
    try {
      await this.root.flushed;
      await this.root.close();
    } finally {
      openPaths.delete(this.path);
      this.lock.release();
    }
  }
}

async function loadLmdb(what: string): Promise<LmdbModule> {
  try {
    return (await import('lmdb')) as unknown as LmdbModule;
  } catch (error) {
    throw new ZeroMqOutboxError(
      `the ${what} option needs the package 'lmdb' (an optional peer dependency of nestjs-zeromq): npm install lmdb`,
      {
        cause: error,
      },
    );
  }
}
