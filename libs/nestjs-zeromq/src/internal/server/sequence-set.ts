/** Bits a set starts with, and may always span whatever it holds. */
const MIN_BITS = 4096;
/** Bits a set may span per sequence it holds: at most 8 bytes each, about what a Set entry costs. */
const BITS_PER_ENTRY = 64;

/**
 * A set of sequence numbers (non-negative integers below 2^53) that mostly lie close together, as
 * a worker's completed deliveries of one producer do: a bitmap over the range they span, which
 * moves up as they do, and a plain Set for the few too far from the others. A Set of a hundred
 * thousand numbers misses the CPU's caches on most lookups; the bitmap of the same numbers is a few
 * KiB. Its span is bounded by the count it holds (`BITS_PER_ENTRY`), so sparse numbers cost no
 * more memory than a Set would.
 */
export class SequenceSet {
  private words = new Uint32Array(MIN_BITS / 32);
  /** The sequence of bit 0 of word 0: a multiple of 32, or -1 before the first add. */
  private base = -1;
  /** Sequences outside the bitmap's range when they were added. */
  private far: Set<number> | undefined;
  private count = 0;

  get size(): number {
    return this.count;
  }

  has(sequence: number): boolean {
    const offset = sequence - this.base;
    if (this.base >= 0 && offset >= 0 && offset < this.words.length * 32 && (this.words[offset >>> 5] & bit(offset)) !== 0) {
      return true;
    }
    return this.far?.has(sequence) === true;
  }

  /** Adds `sequence`, which the set does not hold. */
  add(sequence: number): void {
    this.count++;
    if (this.base < 0) {
      // Room below for deliveries that complete out of order, as much above.
      this.base = Math.max(0, floor32(sequence) - (this.words.length * 32) / 2);
    }
    if (!this.covers(sequence) && !this.stretchTo(sequence)) {
      (this.far ??= new Set()).add(sequence);
      return;
    }
    const offset = sequence - this.base;
    this.words[offset >>> 5] |= bit(offset);
  }

  delete(sequence: number): void {
    const offset = sequence - this.base;
    if (this.covers(sequence) && (this.words[offset >>> 5] & bit(offset)) !== 0) {
      this.words[offset >>> 5] &= ~bit(offset);
      this.count--;
    } else if (this.far?.delete(sequence) === true) {
      this.count--;
    }
  }

  private covers(sequence: number): boolean {
    const offset = sequence - this.base;
    return offset >= 0 && offset < this.words.length * 32;
  }

  /**
   * Moves or grows the bitmap so that it covers `sequence` as well as every bit set now, if that
   * span stays within the bound; false if it would not (the sequence then goes to `far`). Words
   * below the lowest set bit are dropped (their sequences left the set), and the new bitmap has as
   * much room again as it needs, so a set whose numbers climb moves once per that many adds.
   */
  private stretchTo(sequence: number): boolean {
    let first = 0;
    while (first < this.words.length && this.words[first] === 0) {
      first++;
    }
    let last = this.words.length - 1;
    while (last >= first && this.words[last] === 0) {
      last--;
    }
    const target = floor32(sequence);
    const empty = first > last;
    const lowest = this.base + first * 32;
    const low = empty ? target : Math.min(lowest, target);
    const high = empty ? target + 32 : Math.max(this.base + (last + 1) * 32, target + 32);
    if (high - low > Math.max(MIN_BITS, BITS_PER_ENTRY * this.count)) {
      return false;
    }
    const words = new Uint32Array(Math.max(MIN_BITS, 2 * (high - low)) / 32);
    const room = words.length * 32 - (high - low);
    // The room goes where the set is heading: below for an older sequence, above for a newer
    // one, on both sides when it starts over empty (deliveries complete slightly out of order).
    const below = empty ? room / 2 : target < lowest ? room : 0;
    const base = Math.max(0, low - floor32(below));
    if (!empty) {
      words.set(this.words.subarray(first, last + 1), (lowest - base) / 32);
    }
    this.words = words;
    this.base = base;
    return true;
  }
}

function floor32(value: number): number {
  return value - (value % 32);
}

function bit(offset: number): number {
  return 1 << (offset & 31);
}
