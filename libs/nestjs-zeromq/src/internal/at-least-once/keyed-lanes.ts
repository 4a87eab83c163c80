import { Deque } from '../util/deque.js';
import type { Delivery, DeliveryLink } from './delivery.js';
import type { DeliveryLinks } from './delivery-links.js';

/** Where heads wait whose key no live worker owns (no worker has announced credit). */
const NO_OWNER = '';

/**
 * The keyed messages ready to go (each the head of its key), by the worker that owns their key:
 * the winner of rendezvous hashing over the live links (DeliveryLinks#owner). A head waits for
 * its owner's credit without holding up the heads of other workers; when the set of live links
 * changes, every waiting head is routed again, so that only the keys of the worker that came or
 * went change hands. A key's head in flight finishes where it is: its next message is routed
 * only once the head is done.
 */
export class KeyedLanes {
  private readonly unrouted = new Deque<Delivery>();
  private readonly byOwner = new Map<string, Deque<Delivery>>();
  private generation = -1;

  constructor(private readonly links: DeliveryLinks) {}

  add(delivery: Delivery): void {
    this.unrouted.push(delivery);
  }

  /** Hands each head whose owner has free credit to `send`; skips those `sendable` rejects (done with, or sent already). */
  send(sendable: (delivery: Delivery) => boolean, send: (delivery: Delivery, link: DeliveryLink) => void): void {
    // A head found expired as its turn came is dead-lettered and lets the next message of its key
    // in: that one is routed and sent in another pass (each pass that leaves one ends a message
    // for good, so this ends).
    do {
      this.pass(sendable, send);
    } while (this.unrouted.length > 0);
  }

  private pass(sendable: (delivery: Delivery) => boolean, send: (delivery: Delivery, link: DeliveryLink) => void): void {
    if (this.links.generation !== this.generation) {
      this.generation = this.links.generation;
      for (const lane of this.byOwner.values()) {
        while (lane.length > 0) {
          this.unrouted.push(lane.shift()!);
        }
      }
      this.byOwner.clear();
    }
    while (this.unrouted.length > 0) {
      const delivery = this.unrouted.shift()!;
      if (sendable(delivery)) {
        const owner = this.links.owner(delivery.orderKey!)?.name ?? NO_OWNER;
        let lane = this.byOwner.get(owner);
        if (lane === undefined) {
          lane = new Deque<Delivery>();
          this.byOwner.set(owner, lane);
        }
        lane.push(delivery);
      }
    }
    for (const [owner, lane] of this.byOwner) {
      const link = owner === NO_OWNER ? undefined : this.links.get(owner);
      while (link !== undefined && lane.length > 0 && link.window > link.unacked) {
        const delivery = lane.shift()!;
        if (sendable(delivery)) {
          send(delivery, link);
        }
      }
      // A send may have routed again meanwhile (it can read the outbox back): keep a new lane.
      if (lane.length === 0 && this.byOwner.get(owner) === lane) {
        this.byOwner.delete(owner);
      }
    }
  }

  clear(): void {
    this.unrouted.clear();
    this.byOwner.clear();
  }
}
