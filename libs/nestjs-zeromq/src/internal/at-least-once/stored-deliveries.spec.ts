import type { Settle } from '../sockets/send-queue.js';
import type { ZeroMqDeadLetter } from '../../zeromq.events.js';
import {
  fragmentFields,
  FragmentWriter,
  recordFields,
  storedData,
  storedDelivery,
  type EncodedRecord,
  type Fragment,
} from '../protocol/wire.js';
import type { Delivery } from './delivery.js';
import type { DeliveryStore, StoredDeadLetter, StoredDelivery } from './delivery-store.js';
import { DeliveryTracker } from './delivery-tracker.js';
import { submitted } from '../../../test/delivery-tracker-harness.js';

/**
 * The tracker with a durable outbox, over a store kept in a Map whose commits the test releases:
 * what is held in memory, what waits in the store, the order it is read back in, replays after a
 * restart, and the errors of a full or failing store. (The LMDB store itself: lmdb-outbox.spec.ts
 * and the producer-crash e2e.)
 */
class MapStore implements DeliveryStore {
  readonly rows = new Map<number, { packed: Buffer; storedAt: number }>();
  readonly dead = new Map<number, Omit<StoredDeadLetter, 'packed' | 'storedAt'>>();
  full = false;
  /** Keys written but not committed (invisible to readAfter). */
  uncommitted = new Set<number>();
  failNext: Error | undefined;
  /** Rows handed out by readAfter, in all. */
  rowsRead = 0;
  private commitWaiters: Array<{ resolve: () => void; reject: (error: Error) => void }> = [];

  constructor(
    readonly maxBytes = 1_000_000,
    readonly lastKey = 0,
  ) {}

  get count(): number {
    return this.rows.size;
  }

  get bytes(): number {
    let bytes = 0;
    for (const { packed } of this.rows.values()) {
      bytes += packed.length;
    }
    return bytes;
  }

  add(key: number, packed: Fragment): Promise<void> {
    if (this.failNext !== undefined) {
      const error = this.failNext;
      this.failNext = undefined;
      return Promise.reject(error);
    }
    this.rows.set(key, { packed: Buffer.from(packed.slab.subarray(packed.start, packed.end)), storedAt: 0 });
    this.uncommitted.add(key);
    return new Promise((resolve, reject) => this.commitWaiters.push({ resolve, reject }));
  }

  /** Commits every write so far. */
  commit(): void {
    this.uncommitted.clear();
    for (const { resolve } of this.commitWaiters.splice(0)) {
      resolve();
    }
  }

  /** Fails the commit of every write so far (an I/O error): those rows are not stored. */
  fail(error: Error): void {
    for (const key of this.uncommitted) {
      this.rows.delete(key);
    }
    this.uncommitted.clear();
    for (const { reject } of this.commitWaiters.splice(0)) {
      reject(error);
    }
  }

  update(key: number, packed: Fragment): void {
    this.rows.set(key, { packed: Buffer.from(packed.slab.subarray(packed.start, packed.end)), storedAt: 0 });
  }

  remove(key: number): void {
    this.rows.delete(key);
  }

  deadLetter(key: number, letter: Omit<StoredDeadLetter, 'packed' | 'storedAt'>, _packed: Fragment): void {
    this.rows.delete(key);
    this.dead.set(key, letter);
  }

  readAfter(after: number, limit: number): StoredDelivery[] {
    const rows = [...this.rows.entries()]
      .filter(([key]) => key > after && !this.uncommitted.has(key))
      .sort(([a], [b]) => a - b)
      .slice(0, limit)
      .map(([key, row]) => ({ key, ...row }));
    this.rowsRead += rows.length;
    return rows;
  }

  committed(): Promise<void> {
    return this.uncommitted.size === 0 ? Promise.resolve() : new Promise((resolve, reject) => this.commitWaiters.push({ resolve, reject }));
  }

  oldestStoredAt(): number | undefined {
    return this.rows.size === 0 ? undefined : 0;
  }

  deadLetterCount(): number {
    return this.dead.size;
  }
}

const record = (pattern: string): EncodedRecord => ({ pattern, info: 'j', payload: JSON.stringify({ of: pattern }), size: 10 });
const flush = () => new Promise((resolve) => setImmediate(resolve));
const timers = import.meta.jest;

function tracker(
  store: MapStore,
  options: { maxQueueSize?: number; maxQueueBytes?: number; resolveOn?: 'stored' | 'acked'; maxAttempts?: number } = {},
) {
  const sent: Array<[pattern: string, attempt: string, id: string]> = [];
  const deadLetters: ZeroMqDeadLetter[] = [];
  const writer = new FragmentWriter();
  /** Messages read back from the store into memory. */
  let placed = 0;
  const maxAttempts = options.maxAttempts ?? 5;
  const coded = (code: string, text: string) => Object.assign(new Error(`${code}: ${text}`), { code });
  const instance = new DeliveryTracker(['a'], {
    maxQueueSize: options.maxQueueSize ?? 100,
    maxQueueBytes: options.maxQueueBytes ?? 1_000_000,
    ackTimeout: 60_000,
    maxAttempts,
    retryDelay: 0,
    maxRetryDelay: 0,
    keyedPoison: 'block',
    lostLinkGrace: 0,
    store,
    resolveOn: options.resolveOn ?? 'stored',
    readPacked: (packed) => storedDelivery(fragmentFields(packed)),
    dataOf: (packed) => storedData(fragmentFields(packed)),
    place: (packed) => {
      placed++;
      return writer.copy(packed);
    },
    pack: (id, packed) => writer.write(recordFields.delivery(id, 1, maxAttempts, packed)),
    repack: (packed, attempt) => writer.write(recordFields.redelivery(fragmentFields(packed), attempt, maxAttempts)),
    transmit: (_link: string, delivery: Delivery, done: Settle) => {
      const fields = fragmentFields(delivery.packed);
      sent.push([delivery.pattern, fields[1].toString(), delivery.id]);
      done.resolve();
    },
    onDeadLetter: (letter) => deadLetters.push(letter),
    requestCredit: () => undefined,
    errors: {
      queueFull: (pattern) => coded('QUEUE_FULL', pattern),
      outboxFull: (pattern) => coded('OUTBOX_FULL', pattern),
      notStored: (pattern, cause) => coded('NOT_STORED', `${pattern}: ${cause.message}`),
      deadLetter: (letter) => coded('DEAD_LETTER', letter.pattern),
      closed: (pattern) => coded('CLOSED', pattern),
    },
  });
  const outcome = (pattern: string) =>
    submitted(instance, pattern, record(pattern)).then(
      () => 'resolved',
      (error: Error) => error.message,
    );
  const ack = (pattern: string) => {
    const id = sent.find(([sentPattern]) => sentPattern === pattern)![2];
    return instance.settle('a', id, 'a', '');
  };
  return { tracker: instance, sent, deadLetters, outcome, ack, placed: () => placed };
}

/** A store holding `count` messages (m1, m2, …) that an earlier process accepted, as the next start opens it. */
async function storedEarlier(count: number): Promise<MapStore> {
  const first = new MapStore();
  const before = tracker(first, { maxQueueSize: count });
  for (let i = 1; i <= count; i++) {
    void before.outcome(`m${i}`);
  }
  first.commit();
  await flush();
  const next = new MapStore(1_000_000, count);
  for (const [key, row] of first.rows) {
    next.rows.set(key, row);
  }
  return next;
}

describe('DeliveryTracker with a durable outbox', () => {
  afterEach(() => timers.useRealTimers());

  it("resolves an emit once its message is committed (resolveOn 'stored'), not before, and removes it on the ack", async () => {
    const store = new MapStore();
    const { tracker: t, sent, outcome, ack } = tracker(store);
    t.credit('a', 10);
    let settled: string | undefined;
    void outcome('m1').then((result) => (settled = result));
    expect(sent.map(([pattern]) => pattern)).toEqual(['m1']);
    await flush();
    expect(settled).toBeUndefined();
    store.commit();
    await flush();
    expect(settled).toBe('resolved');
    expect(store.count).toBe(1);
    ack('m1');
    expect(store.count).toBe(0);
    expect(t.outstanding).toBe(0);
  });

  it("with resolveOn 'acked' resolves on the ack, the message stored all the same", async () => {
    const store = new MapStore();
    const { tracker: t, outcome, ack } = tracker(store, { resolveOn: 'acked' });
    t.credit('a', 10);
    let settled: string | undefined;
    void outcome('m1').then((result) => (settled = result));
    store.commit();
    await flush();
    expect(settled).toBeUndefined();
    expect(store.count).toBe(1);
    ack('m1');
    await flush();
    expect(settled).toBe('resolved');
  });

  it('keeps in memory only maxQueueSize messages and reads the rest back from the store in emission order', async () => {
    const store = new MapStore();
    const { tracker: t, sent, outcome, ack } = tracker(store, { maxQueueSize: 2 });
    const outcomes = ['m1', 'm2', 'm3', 'm4', 'm5'].map(outcome);
    store.commit();
    expect(await Promise.all(outcomes)).toEqual(Array(5).fill('resolved'));
    expect(t.outstanding).toBe(5);
    t.credit('a', 10);
    expect(sent.map(([pattern]) => pattern)).toEqual(['m1', 'm2']);
    ack('m1');
    expect(sent.map(([pattern]) => pattern)).toEqual(['m1', 'm2', 'm3']);
    ack('m2');
    ack('m3');
    ack('m4');
    expect(sent.map(([pattern]) => pattern)).toEqual(['m1', 'm2', 'm3', 'm4', 'm5']);
    ack('m5');
    expect(store.count).toBe(0);
  });

  it('reads back a message parked before its write committed once the store commits', async () => {
    const store = new MapStore();
    const { tracker: t, sent, outcome, ack } = tracker(store, { maxQueueSize: 1 });
    t.credit('a', 10);
    void outcome('m1');
    void outcome('m2');
    ack('m1');
    // m2 is parked and not committed: nothing to read yet.
    expect(sent.map(([pattern]) => pattern)).toEqual(['m1']);
    store.commit();
    await flush();
    expect(sent.map(([pattern]) => pattern)).toEqual(['m1', 'm2']);
  });

  it('replays what an earlier process stored first, in order, with its ids and attempt numbers, counted as replayed; a replay that fails goes again as the next attempt', async () => {
    const first = new MapStore();
    const before = tracker(first);
    void before.outcome('old1');
    void before.outcome('old2');
    first.commit();
    before.tracker.credit('a', 10);
    // old1 was sent twice (a redelivery after a failure): attempt 2 is stored.
    before.tracker.settle('a', before.sent[0][2], 'f', 'busy');
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(before.sent.map(([pattern, attempt]) => `${pattern}@${attempt}`)).toEqual(['old1@1/5', 'old2@1/5', 'old1@2/5']);
    // The process dies: a new tracker over the same rows.
    const second = new MapStore(1_000_000, 2);
    for (const [key, row] of first.rows) {
      second.rows.set(key, row);
    }
    const after = tracker(second);
    void after.outcome('new1');
    second.commit();
    after.tracker.credit('a', 10);
    expect(after.sent.map(([pattern, attempt]) => `${pattern}@${attempt}`)).toEqual(['old1@2/5', 'old2@1/5', 'new1@1/5']);
    expect(after.sent.slice(0, 2).map(([, , id]) => id)).toEqual([before.sent[2][2], before.sent[1][2]]);
    expect(after.tracker.counters.replayed).toBe(2);
    expect(after.tracker.counters.redelivered).toBe(0);
    // Only the replay itself goes as the attempt stored: a failure sends old1 again as attempt 3, a redelivery.
    after.tracker.settle('a', after.sent[0][2], 'f', 'busy');
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(after.sent.map(([pattern, attempt]) => `${pattern}@${attempt}`).at(-1)).toBe('old1@3/5');
    expect(after.tracker.counters.redelivered).toBe(1);
  });

  it('replays keyed messages through the key gate: one per key in flight, in emission order', async () => {
    const first = new MapStore();
    const before = tracker(first);
    const keyed = (pattern: string): EncodedRecord => ({ ...record(pattern), info: `j${JSON.stringify({ 'nz-key': 'k1' })}` });
    for (const pattern of ['k1/1', 'k1/2', 'k1/3']) {
      void submitted(before.tracker, pattern, keyed(pattern), 'k1').catch(() => undefined);
    }
    void before.outcome('u1');
    first.commit();
    await flush();
    // The process dies before any worker took anything: a new tracker over the same rows.
    const second = new MapStore(1_000_000, 4);
    for (const [key, row] of first.rows) {
      second.rows.set(key, row);
    }
    const after = tracker(second);
    after.tracker.credit('a', 10);
    expect(after.sent.map(([pattern]) => pattern)).toEqual(['k1/1', 'u1']);
    expect(after.tracker.keys).toEqual({ inFlight: 1, waiting: 2 });
    after.ack('k1/1');
    after.ack('u1');
    expect(after.sent.map(([pattern]) => pattern)).toEqual(['k1/1', 'u1', 'k1/2']);
    after.ack('k1/2');
    after.ack('k1/3');
    expect(after.sent.map(([pattern]) => pattern)).toEqual(['k1/1', 'u1', 'k1/2', 'k1/3']);
    expect(after.tracker.counters.replayed).toBe(4);
    expect(second.count).toBe(0);
  });

  it('refuses with OUTBOX_FULL past maxBytes (a lone message is still taken) and drops nothing stored', async () => {
    const store = new MapStore(1);
    const { outcome } = tracker(store);
    const first = outcome('m1');
    store.commit();
    expect(await first).toBe('resolved');
    expect(await outcome('m2')).toBe('OUTBOX_FULL: m2');
    expect(store.count).toBe(1);
  });

  it('fails an emit whose write failed with NOT_STORED and forgets it', async () => {
    const store = new MapStore();
    const { tracker: t, outcome } = tracker(store);
    store.failNext = new Error('ENOSPC: no space left on device');
    expect(await outcome('m1')).toBe('NOT_STORED: m1: ENOSPC: no space left on device');
    expect(t.outstanding).toBe(0);
  });

  it('moves a dead letter into the dead-letter table', async () => {
    const store = new MapStore();
    const { tracker: t, sent, deadLetters } = tracker(store, { maxAttempts: 1 });
    void submitted(t, 'm1', record('m1'));
    store.commit();
    t.credit('a', 1);
    t.settle('a', sent[0][2], 'f', 'handler failed');
    expect(deadLetters.map((letter) => letter.reason)).toEqual(['handler failed']);
    expect(store.count).toBe(0);
    expect([...store.dead.values()].map((letter) => letter.pattern)).toEqual(['m1']);
  });

  it('drain() leaves stored messages for the next start: not counted as dropped', async () => {
    const store = new MapStore();
    const { tracker: t, outcome } = tracker(store);
    void outcome('m1');
    store.commit();
    expect(await t.drain(10)).toBe(0);
    expect(store.count).toBe(1);
  });

  it('reads back what waits for credit in batches: 512 at most, the next batch once fewer than 256 wait', async () => {
    const store = await storedEarlier(1_000);
    const { tracker: t, sent, ack, placed } = tracker(store, { maxQueueSize: 10_000 });
    // Not all 1,000, although maxQueueSize would allow it: what only waits for credit stays in the store.
    expect(store.rowsRead).toBe(512);
    t.credit('a', 1);
    // Each ack sends the next one; no read while 256 or more wait (not one read per ack).
    for (let i = 1; i <= 256; i++) {
      ack(`m${i}`);
    }
    expect(sent).toHaveLength(257);
    expect(store.rowsRead).toBe(512);
    // 255 wait: one read fills the line up to 512 again (and the freed credit took m258).
    ack('m257');
    expect(store.rowsRead - 257).toBe(512 + 1);
    expect(sent.map(([pattern]) => pattern)).toEqual(Array.from({ length: 258 }, (_, i) => `m${i + 1}`));
    // Every row read was taken into memory.
    expect(placed()).toBe(store.rowsRead);
  });

  it('reads back a message per place an ack frees (maxQueueSize below the batch), and no row it cannot take', async () => {
    const store = await storedEarlier(300);
    const { tracker: t, sent, ack, placed } = tracker(store, { maxQueueSize: 100 });
    expect(store.rowsRead).toBe(100);
    t.credit('a', 1);
    ack('m1');
    ack('m2');
    expect(sent.map(([pattern]) => pattern)).toEqual(['m1', 'm2', 'm3']);
    expect(store.rowsRead).toBe(102);
    expect(placed()).toBe(102);
    expect(t.outstanding).toBe(298);
  });

  it('a write that fails after its message was acked leaves the memory bound as it was (maxQueueBytes)', async () => {
    const store = new MapStore();
    const { tracker: t, sent, outcome, ack } = tracker(store, { maxQueueBytes: 20 });
    t.credit('a', 10);
    const first = outcome('m1');
    // Sent before its write commits and acked by a fast worker; then the commit fails.
    ack('m1');
    store.fail(new Error('EIO: i/o error'));
    expect(await first).toBe('NOT_STORED: m1: EIO: i/o error');
    // Two records of 10 bytes fill maxQueueBytes: the third waits in the outbox.
    for (const pattern of ['m2', 'm3', 'm4']) {
      void outcome(pattern);
    }
    expect(sent.map(([pattern]) => pattern)).toEqual(['m1', 'm2', 'm3']);
    expect(t.outstanding).toBe(3);
  });

  it('gives a message read back from the store and dead-lettered its data, decoded from the stored record', async () => {
    const store = new MapStore();
    const { tracker: t, sent, deadLetters, outcome, ack } = tracker(store, { maxQueueSize: 1, maxAttempts: 1 });
    void outcome('m1');
    void outcome('m2');
    store.commit();
    await flush();
    t.credit('a', 1);
    ack('m1');
    expect(sent.map(([pattern]) => pattern)).toEqual(['m1', 'm2']);
    const id = sent[1][2];
    t.settle('a', id, 'f', 'handler failed');
    expect(deadLetters).toEqual([{ pattern: 'm2', messageId: id, attempts: 1, reason: 'handler failed', data: { of: 'm2' } }]);
    expect([...store.dead.values()]).toEqual([
      { messageId: id, pattern: 'm2', reason: 'handler failed', attempts: 1, deadAt: expect.any(Number) },
    ]);
  });

  it("drain() with resolveOn 'acked' fails the emits still waiting with CLOSED, in memory and in the store alike; their messages stay stored", async () => {
    const store = new MapStore();
    const { tracker: t, outcome } = tracker(store, { resolveOn: 'acked', maxQueueSize: 1 });
    const settled: string[] = [];
    for (const pattern of ['m1', 'm2']) {
      void outcome(pattern).then((result) => settled.push(result));
    }
    store.commit();
    await flush();
    expect(settled).toEqual([]);
    expect(await t.drain(0)).toBe(0);
    await flush();
    expect(settled).toEqual(['CLOSED: m1', 'CLOSED: (stored)']);
    expect(store.count).toBe(2);
  });

  it('drain() waits only for what is in flight: at once with none, else until it is acked (not its timeout)', async () => {
    timers.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    let drained: number | undefined;
    // No worker has credit: the close does not wait for an outage to end.
    const waiting = tracker(new MapStore());
    void waiting.outcome('m1');
    void waiting.tracker.drain(10_000).then((left) => (drained = left));
    await flush();
    expect(drained).toBe(0);

    const store = new MapStore();
    const busy = tracker(store, { maxQueueSize: 1 });
    busy.tracker.credit('a', 1);
    void busy.outcome('m1');
    void busy.outcome('m2');
    store.commit();
    drained = undefined;
    void busy.tracker.drain(10_000).then((left) => (drained = left));
    await flush();
    expect(drained).toBeUndefined();
    busy.ack('m1');
    await flush();
    expect(drained).toBe(0);
    // m2 waits in the store for the next start.
    expect(store.count).toBe(1);
    expect(busy.sent.map(([pattern]) => pattern)).toEqual(['m1']);
  });

  it('a failed write lets the next message go at once: the credit its message held, and the next of its key', async () => {
    for (const key of [undefined, 'k']) {
      const store = new MapStore();
      const { tracker: t, sent } = tracker(store);
      const submit = (pattern: string) =>
        submitted(t, pattern, record(pattern), key).then(
          () => 'resolved',
          (error: Error) => error.message,
        );
      t.credit('a', 1);
      store.failNext = new Error('EIO: i/o error');
      const first = submit('m1');
      void submit('m2');
      expect(sent.map(([pattern]) => pattern)).toEqual(['m1']);
      expect(await first).toBe('NOT_STORED: m1: EIO: i/o error');
      expect(sent.map(([pattern]) => pattern)).toEqual(['m1', 'm2']);
    }
  });
});
