/**
 * A Map that forgets its oldest entries beyond `capacity`. Used where peers decide what is
 * remembered (ids of completed deliveries, producers that said hello), so memory stays bounded.
 */
export class BoundedMap<K, V> {
  private readonly entries = new Map<K, V>();

  constructor(private readonly capacity: number) {}

  get size(): number {
    return this.entries.size;
  }

  has(key: K): boolean {
    return this.entries.has(key);
  }

  set(key: K, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, value);
    if (this.entries.size > this.capacity) {
      // Maps iterate in insertion order: the first key is the oldest.
      this.entries.delete(this.entries.keys().next().value as K);
    }
  }

  values(): IterableIterator<V> {
    return this.entries.values();
  }
}
