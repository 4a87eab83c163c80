/** Named monotonic counters; `snapshot()` gives callers a copy they cannot change. */
export class Counters<K extends string> {
  private readonly values: Record<K, number>;

  constructor(names: readonly K[]) {
    this.values = Object.fromEntries(names.map((name) => [name, 0])) as Record<K, number>;
  }

  add(name: K, amount = 1): void {
    this.values[name] += amount;
  }

  get(name: K): number {
    return this.values[name];
  }

  snapshot(): Readonly<Record<K, number>> {
    return { ...this.values };
  }
}
