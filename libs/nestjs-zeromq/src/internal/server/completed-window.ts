import { SequenceSet } from './sequence-set.js';

/**
 * The ids of the last `capacity` deliveries a worker completed, oldest forgotten first.
 *
 * Ids made by this library's producers (`<producer id>.<sequence in base 36>`) are kept as
 * sequence numbers in a bitmap per producer (SequenceSet): a hundred thousand id strings in one Map,
 * or numbers in one Set, cost a hash lookup in a table far larger than the CPU's caches, and the
 * strings old-generation garbage as each leaves the window. Any other id (a plain peer chooses its
 * own) is kept as it is.
 */
export class CompletedWindow {
  private readonly producers = new Map<string, ProducerSequences>();
  private readonly others = new Set<string>();
  /** Where each remembered id is (its producer's sequences, or `others`) and its key there, in the order they completed (a ring). */
  private readonly ringOwners: Array<ProducerSequences | Set<string> | undefined>;
  private readonly ringKeys: Array<number | string>;
  private next = 0;

  /** @param capacity ids remembered (the server's `dedupeWindow`, at least 1) */
  constructor(private readonly capacity: number) {
    this.ringOwners = new Array<ProducerSequences | Set<string> | undefined>(capacity);
    this.ringKeys = new Array<number | string>(capacity);
  }

  has(id: string): boolean {
    const dot = id.lastIndexOf('.');
    const sequence = dot > 0 ? base36(id, dot + 1) : -1;
    if (sequence < 0) {
      return this.others.has(id);
    }
    return this.producers.get(id.slice(0, dot))?.sequences.has(sequence) === true;
  }

  /** Remembers `id` as completed (once: callers add an id only after `has` said no). */
  add(id: string): void {
    this.forgetOldest();
    const dot = id.lastIndexOf('.');
    const sequence = dot > 0 ? base36(id, dot + 1) : -1;
    if (sequence < 0) {
      this.others.add(id);
      this.remember(this.others, id);
      return;
    }
    const producer = id.slice(0, dot);
    let owner = this.producers.get(producer);
    if (owner === undefined) {
      owner = { producer, sequences: new SequenceSet() };
      this.producers.set(producer, owner);
    }
    owner.sequences.add(sequence);
    this.remember(owner, sequence);
  }

  private remember(owner: ProducerSequences | Set<string>, key: number | string): void {
    this.ringOwners[this.next] = owner;
    this.ringKeys[this.next] = key;
    this.next = (this.next + 1) % this.capacity;
  }

  /** Frees the ring's next slot: the oldest id leaves the window once it is full. */
  private forgetOldest(): void {
    const owner = this.ringOwners[this.next];
    if (owner === undefined) {
      return;
    }
    this.ringOwners[this.next] = undefined;
    if (owner === this.others) {
      this.others.delete(this.ringKeys[this.next] as string);
      return;
    }
    const { producer, sequences } = owner as ProducerSequences;
    sequences.delete(this.ringKeys[this.next] as number);
    if (sequences.size === 0) {
      // Producers come and go (each client instance has its own id): an empty one is dropped.
      this.producers.delete(producer);
    }
  }
}

/** The completed sequences of one producer. */
interface ProducerSequences {
  readonly producer: string;
  readonly sequences: SequenceSet;
}

/**
 * The value of `text` from `start` on as a base-36 number in the form this library writes it
 * (digits and lower-case letters, no leading zero, at most 10 of them), else -1: two spellings of
 * one number ("1k", "01k") are different ids and must not meet in one set.
 */
function base36(text: string, start: number): number {
  const length = text.length - start;
  if (length < 1 || length > 10 || (length > 1 && text.charCodeAt(start) === ZERO)) {
    return -1;
  }
  let value = 0;
  for (let i = start; i < text.length; i++) {
    const code = text.charCodeAt(i);
    let digit: number;
    if (code >= ZERO && code <= NINE) {
      digit = code - ZERO;
    } else if (code >= LOWER_A && code <= LOWER_Z) {
      digit = code - LOWER_A + 10;
    } else {
      return -1;
    }
    value = value * 36 + digit;
  }
  return value;
}

const ZERO = 48;
const NINE = 57;
const LOWER_A = 97;
const LOWER_Z = 122;
