/** What an XPUB socket saw: a subscriber subscribed to (or dropped) a prefix; `count` holders now. */
export interface SubscriptionChange {
  prefix: string;
  subscribed: boolean;
  count: number;
}

interface Waiter {
  pattern: string;
  count: number;
  resolve: () => void;
  reject: (error: Error) => void;
}

const SUBSCRIBE = 1;
const UNSUBSCRIBE = 0;

/**
 * The subscriptions a publisher's XPUB socket holds, per prefix: one per subscriber (the socket
 * passes every subscription and unsubscription, a subscriber's leaving included). Resolves
 * `waitFor(pattern, n)` once n subscriptions cover the pattern; a nestjs-zeromq subscriber holds
 * at most one covering prefix per topic, so that is n subscribers.
 */
export class SubscriptionCounts {
  private readonly counts = new Map<string, number>();
  private waiters = new Set<Waiter>();

  /** Applies one message read from the XPUB; undefined if it is not a (un)subscription. */
  apply(message: Buffer): SubscriptionChange | undefined {
    const kind = message[0];
    if (message.length === 0 || (kind !== SUBSCRIBE && kind !== UNSUBSCRIBE)) {
      return undefined;
    }
    const prefix = message.toString('utf8', 1);
    const count = Math.max(0, (this.counts.get(prefix) ?? 0) + (kind === SUBSCRIBE ? 1 : -1));
    if (count === 0) {
      this.counts.delete(prefix);
    } else {
      this.counts.set(prefix, count);
    }
    if (kind === SUBSCRIBE) {
      for (const waiter of this.waiters) {
        if (this.holding(waiter.pattern) >= waiter.count) {
          this.waiters.delete(waiter);
          waiter.resolve();
        }
      }
    }
    return { prefix, subscribed: kind === SUBSCRIBE, count };
  }

  /** Subscriptions whose prefix lets `topic` through. */
  holding(topic: string): number {
    let total = 0;
    for (const [prefix, count] of this.counts) {
      if (topic.startsWith(prefix)) {
        total += count;
      }
    }
    return total;
  }

  snapshot(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }

  /** Resolves once `count` subscriptions cover `topic`; rejects after `timeout` ms or on `close()`. */
  waitFor(topic: string, count: number, timeout: number, what: string): Promise<void> {
    if (this.holding(topic) >= count) {
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`${what}: ${this.holding(topic)} of ${count} subscribers hold "${topic}" after ${timeout} ms`));
      }, timeout);
      const waiter: Waiter = {
        pattern: topic,
        count,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      this.waiters.add(waiter);
    });
  }

  /** Fails every wait (the socket is closing). */
  close(reason: string): void {
    for (const waiter of this.waiters) {
      waiter.reject(new Error(reason));
    }
    this.waiters.clear();
  }
}
