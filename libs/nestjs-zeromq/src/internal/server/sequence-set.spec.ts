import { SequenceSet } from './sequence-set.js';

/** A seeded generator of integers in [0, n): the same run every time. */
function randoms(seed: number): (n: number) => number {
  // mulberry32: its low bits vary as much as its high ones (an LCG's repeat every few draws).
  let state = seed >>> 0;
  return (n) => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), state | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) % n;
  };
}

/** The bits the set's bitmap spans: its memory, which must stay near what a Set of its numbers costs. */
const bitmapBits = (set: SequenceSet) => (set as unknown as { words: Uint32Array }).words.length * 32;

/** Runs the same adds and deletes on a SequenceSet and a Set, and checks they agree on every lookup. */
function checkAgainstSet(operations: Array<['add' | 'delete', number]>, probes: (held: ReadonlySet<number>) => number[]): SequenceSet {
  const set = new SequenceSet();
  const expected = new Set<number>();
  for (const [operation, sequence] of operations) {
    if (operation === 'add') {
      set.add(sequence);
      expected.add(sequence);
    } else {
      set.delete(sequence);
      expected.delete(sequence);
    }
  }
  expect(set.size).toBe(expected.size);
  for (const probe of probes(expected)) {
    expect([probe, set.has(probe)]).toEqual([probe, expected.has(probe)]);
  }
  return set;
}

/**
 * A worker's completions of one producer: sequences climbing with some out of order (a slow
 * delivery completes late) and a share going to other workers (gaps), the oldest forgotten past
 * `window`, as CompletedWindow does.
 */
function completions(count: number, window: number, seed: number, start = 1): Array<['add' | 'delete', number]> {
  const random = randoms(seed);
  const operations: Array<['add' | 'delete', number]> = [];
  const order: number[] = [];
  const late: number[] = [];
  for (let sequence = start; order.length < count; sequence++) {
    const fate = random(10);
    if (fate < 3) {
      continue; // another worker's
    }
    if (fate === 3 && late.length < 50) {
      late.push(sequence); // completes later
      continue;
    }
    const done = late.length > 0 && random(4) === 0 ? late.shift()! : sequence;
    if (done !== sequence) {
      late.push(sequence);
    }
    operations.push(['add', done]);
    order.push(done);
    if (order.length > window) {
      operations.push(['delete', order[order.length - window - 1]]);
    }
  }
  return operations;
}

const around = (held: ReadonlySet<number>, lowest: number, highest: number) => {
  const probes = [...held];
  for (let value = Math.max(0, lowest - 100); value <= highest + 100; value += 7) {
    probes.push(value);
  }
  return probes;
};

describe('SequenceSet', () => {
  it('holds what a Set holds for a climbing window of completions, out of order and with gaps', () => {
    const operations = completions(60_000, 5_000, 7);
    const highest = Math.max(...operations.map(([, sequence]) => sequence));
    checkAgainstSet(operations, (held) => around(held, highest - 20_000, highest));
  });

  it('holds what a Set holds for sparse numbers (the far set), numbers below its range and large ones', () => {
    const random = randoms(11);
    const operations: Array<['add' | 'delete', number]> = [];
    const held = new Set<number>();
    for (let i = 0; i < 3_000; i++) {
      const candidates = [random(1 << 30), 5_000 + random(3_000), 2 ** 50 + random(100_000), random(64)];
      const sequence = candidates[random(candidates.length)];
      if (held.has(sequence)) {
        operations.push(['delete', sequence]);
        held.delete(sequence);
      } else {
        operations.push(['add', sequence]);
        held.add(sequence);
      }
    }
    const set = checkAgainstSet(operations, (expected) => [
      ...expected,
      ...[...expected].flatMap((value) => [value - 1, value + 1, value + 32]),
    ]);
    // Spread far apart, they do not make the bitmap span them: at most 64 bits per number held, twice.
    expect(bitmapBits(set)).toBeLessThanOrEqual(2 * Math.max(4_096, 64 * set.size));
    const scattered = checkAgainstSet(
      Array.from({ length: 500 }, (): ['add', number] => ['add', random(1 << 30)]).filter(
        ([, sequence], index, all) => all.findIndex(([, other]) => other === sequence) === index,
      ),
      (expected) => [...expected, ...[...expected].map((value) => value + 1)],
    );
    expect(bitmapBits(scattered)).toBeLessThanOrEqual(2 * Math.max(4_096, 64 * scattered.size));
  });

  it('grows down for an older sequence, keeps the bits it had, and starts over when it was emptied', () => {
    checkAgainstSet(
      [
        ['add', 100_000],
        ['add', 100_031],
        ['add', 100_032],
        // Far below the first: within the bound only once the set holds enough.
        ['add', 99_000],
        ['add', 90_000],
        ['delete', 100_000],
        ['delete', 100_031],
        ['delete', 100_032],
        ['delete', 99_000],
        ['delete', 90_000],
        ['add', 5],
        ['add', 0],
        ['add', 31],
        ['add', 32],
        ['delete', 6],
      ],
      () => [0, 1, 5, 6, 31, 32, 33, 90_000, 99_000, 100_000, 100_031, 100_032],
    );
  });

  it('moves up with its numbers instead of growing: a long climb keeps the bitmap small', () => {
    const set = new SequenceSet();
    for (let sequence = 0; sequence < 2_000_000; sequence++) {
      set.add(sequence);
      if (sequence >= 1_000) {
        set.delete(sequence - 1_000);
      }
    }
    expect(set.size).toBe(1_000);
    expect([set.has(1_998_999), set.has(1_999_000), set.has(1_999_999), set.has(2_000_000)]).toEqual([false, true, true, false]);
    // The bitmap spans a small multiple of what it holds (a few KiB), not the 2,000,000 numbers seen.
    expect(bitmapBits(set)).toBeLessThanOrEqual(8 * 4_096);
  });
});
