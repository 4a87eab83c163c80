import { existsSync } from 'node:fs';
import { ZeroMqOutboxError } from '../../zeromq.errors.js';
import { fragmentFields, FragmentWriter, recordFields, storedDelivery } from '../protocol/wire.js';
import type { StoredDeadLetter } from './delivery-store.js';
import { LmdbOutbox, type LmdbRouteStore } from './lmdb-outbox.js';

/** What `nestjs-zeromq outbox inspect` shows of one route. */
export interface OutboxRouteReport {
  route: string;
  stored: number;
  storedBytes: number;
  /** Milliseconds since the oldest stored message was accepted. */
  oldestAgeMs: number | undefined;
  deadLetters: number;
  /** The oldest stored messages (at most `limit`). */
  messages: Array<{ messageId: string; pattern: string; attempt: number; ageMs: number }>;
  /** The oldest dead letters (at most `limit`). */
  deadLetterSamples: Array<Pick<StoredDeadLetter, 'messageId' | 'pattern' | 'reason' | 'attempts'> & { deadAgeMs: number }>;
}

/** Opens an outbox for the CLI: the same lock as a producer, so a running producer is never changed under it. */
export async function withOutbox<T>(path: string, action: (outbox: LmdbOutbox) => T | Promise<T>): Promise<T> {
  if (!existsSync(path)) {
    throw new ZeroMqOutboxError(`no outbox at ${path}`);
  }
  const outbox = await LmdbOutbox.open({ path, durability: 'flush', onWriteError: () => undefined });
  try {
    return await action(outbox);
  } finally {
    await outbox.close();
  }
}

function routeStores(outbox: LmdbOutbox, route: string | undefined): LmdbRouteStore[] {
  const names = route === undefined ? outbox.routeNames() : [route];
  return names.map((name) => outbox.route(name, Number.MAX_SAFE_INTEGER));
}

export function inspectOutbox(outbox: LmdbOutbox, limit: number, now = Date.now()): OutboxRouteReport[] {
  return outbox.routeNames().map((route) => {
    const store = outbox.route(route, Number.MAX_SAFE_INTEGER);
    const oldest = store.oldestStoredAt();
    return {
      route,
      stored: store.count,
      storedBytes: store.bytes,
      oldestAgeMs: oldest === undefined ? undefined : now - oldest,
      deadLetters: store.deadLetterCount(),
      messages: store.readAfter(0, limit).map((stored) => {
        const { id, attempt, pattern } = storedDelivery(fragmentFields({ slab: stored.packed, start: 0, end: stored.packed.length }));
        return { messageId: id, pattern, attempt, ageMs: now - stored.storedAt };
      }),
      deadLetterSamples: [...store.deadLetters.getRange({ limit })].map(({ value }) => {
        const letter = value as StoredDeadLetter;
        return {
          messageId: letter.messageId,
          pattern: letter.pattern,
          reason: letter.reason,
          attempts: letter.attempts,
          deadAgeMs: now - letter.deadAt,
        };
      }),
    };
  });
}

/**
 * Moves dead letters back into the outbox, after everything stored (their original ids, attempt
 * 1 again): the producer sends them at its next start. Resolves with how many moved.
 */
export async function requeueDeadLetters(outbox: LmdbOutbox, route?: string): Promise<number> {
  let moved = 0;
  const writer = new FragmentWriter();
  for (const store of routeStores(outbox, route)) {
    for (const { key, value } of [...store.deadLetters.getRange({})]) {
      const letter = value as StoredDeadLetter;
      const fields = fragmentFields({ slab: letter.packed, start: 0, end: letter.packed.length });
      const maxAttempts = Number.parseInt(fields[1].toString().split('/')[1] ?? '1', 10);
      store.lastKey += 1;
      await store.add(store.lastKey, writer.write(recordFields.redelivery(fields, 1, maxAttempts)));
      await store.deadLetters.remove(key);
      moved++;
    }
  }
  return moved;
}

/** Removes the dead letters (and with `everything`, the stored messages too). Resolves with how many went. */
export async function purgeOutbox(outbox: LmdbOutbox, options: { route?: string; everything: boolean }): Promise<number> {
  let removed = 0;
  for (const store of routeStores(outbox, options.route)) {
    for (const { key } of [...store.deadLetters.getRange({})]) {
      await store.deadLetters.remove(key);
      removed++;
    }
    if (options.everything) {
      for (const stored of store.readAfter(0, Number.MAX_SAFE_INTEGER)) {
        store.remove(stored.key);
        removed++;
      }
      await store.committed();
    }
  }
  return removed;
}
