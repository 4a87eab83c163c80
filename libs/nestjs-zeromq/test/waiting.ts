/** Rejects after `ms` with a message naming what was awaited; the timer never outlives the wait. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`Timed out after ${ms} ms waiting for ${what}`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Collects values and resolves `waitFor(n)` once n have arrived. */
export class Collector<T> {
  readonly items: T[] = [];
  private waiters: Array<{ count: number; resolve: () => void }> = [];

  add(item: T): void {
    this.items.push(item);
    this.waiters = this.waiters.filter((waiter) => {
      if (this.items.length >= waiter.count) {
        waiter.resolve();
        return false;
      }
      return true;
    });
  }

  waitFor(count: number, ms = 10_000): Promise<T[]> {
    const reached = new Promise<void>((resolve) => {
      if (this.items.length >= count) {
        resolve();
      } else {
        this.waiters.push({ count, resolve });
      }
    });
    return within(reached, ms, `${count} items (have ${this.items.length})`).then(() => this.items);
  }
}

/** Resolves with the first value `next` produces that satisfies `predicate` (polled every `every` ms, bounded). */
export async function eventually<T>(next: () => T, predicate: (value: T) => boolean, ms = 5_000, every = 20): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = next();
    if (predicate(value)) {
      return value;
    }
    if (Date.now() >= deadline) {
      throw new Error(`Condition not met within ${ms} ms; last value: ${JSON.stringify(value)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, every));
  }
}
