import { Deque } from '../util/deque.js';
import type { Delivery } from './delivery.js';

/**
 * At most one message per key in flight: the first message of a key heads it until it is acked,
 * dead-lettered or expired, and the key's later messages wait behind it in emission order. A
 * redelivery can then only repeat the head, never overtake it: for one producer and one key,
 * handlers see messages in the order they were emitted.
 */
export class KeyGate {
  private readonly heads = new Map<string, Delivery>();
  private readonly behind = new Map<string, Deque<Delivery>>();
  private waitingCount = 0;

  /** Keys whose head is outstanding (in flight, backing off, or waiting for its worker's credit). */
  get keys(): number {
    return this.heads.size;
  }

  /** Messages waiting behind the head of their key. */
  get waiting(): number {
    return this.waitingCount;
  }

  /** True if `delivery` heads its key now (it may be sent); false if it waits behind the head. */
  admit(delivery: Delivery, key: string): boolean {
    if (!this.heads.has(key)) {
      this.heads.set(key, delivery);
      return true;
    }
    let queue = this.behind.get(key);
    if (queue === undefined) {
      queue = new Deque<Delivery>();
      this.behind.set(key, queue);
    }
    queue.push(delivery);
    delivery.behindKey = true;
    this.waitingCount++;
    return false;
  }

  /**
   * `delivery` is done with (acked, dead-lettered, expired, given up at close). If it headed its
   * key, the key's next message heads it now and is returned; if it waited, it waits no more.
   */
  leave(delivery: Delivery, key: string): Delivery | undefined {
    if (delivery.behindKey === true) {
      // Its entry stays in the queue and is skipped when it comes up.
      delivery.behindKey = false;
      this.waitingCount--;
      return undefined;
    }
    if (this.heads.get(key) !== delivery) {
      return undefined;
    }
    const queue = this.behind.get(key);
    while (queue !== undefined && queue.length > 0) {
      const next = queue.shift()!;
      if (next.behindKey === true) {
        next.behindKey = false;
        this.waitingCount--;
        if (queue.length === 0) {
          this.behind.delete(key);
        }
        this.heads.set(key, next);
        return next;
      }
    }
    this.behind.delete(key);
    this.heads.delete(key);
    return undefined;
  }

  clear(): void {
    this.heads.clear();
    this.behind.clear();
    this.waitingCount = 0;
  }
}
