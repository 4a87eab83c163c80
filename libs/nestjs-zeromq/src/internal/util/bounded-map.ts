/**
 * A Map that forgets its oldest entries beyond `capacity`. Used where peers decide what is
 * remembered (ids of completed deliveries, producers that said hello), so memory stays bounded.
 *
 * Insertion order is kept in a ring of keys rather than read back from the Map: evicting with
 * `map.keys().next()` walks over the holes that deleted entries leave until the Map rehashes,
 * which made every insert into a full window cost tens of microseconds.
 */
export class BoundedMap<K, V> {
  private readonly entries = new Map<K, V>();
  private readonly order: Array<K | undefined>;
  private next = 0;

  constructor(private readonly capacity: number) {
    this.order = new Array<K | undefined>(capacity);
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: K): V | undefined {
    return this.entries.get(key);
  }

  has(key: K): boolean {
    return this.entries.has(key);
  }

  /** Adds or updates `key`; an update keeps the key's original place in the eviction order. */
  set(key: K, value: V): void {
    if (this.entries.has(key)) {
      this.entries.set(key, value);
      return;
    }
    const evicted = this.order[this.next];
    if (evicted !== undefined) {
      this.entries.delete(evicted);
    }
    this.order[this.next] = key;
    this.next = (this.next + 1) % this.capacity;
    this.entries.set(key, value);
  }

  values(): IterableIterator<V> {
    return this.entries.values();
  }
}
