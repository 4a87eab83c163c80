import { Deque } from '../util/deque.js';
import type { Delivery, DeliveryLink } from './delivery.js';
import type { DeliveryLinks } from './delivery-links.js';
import { KeyGate } from './key-gate.js';
import { KeyedLanes } from './keyed-lanes.js';

/**
 * The deliveries of a tracker that wait for a worker's credit, in the order they go: unkeyed ones
 * oldest first (one sent again goes back to the front: it is older than what waits), and of each
 * key only its head (the KeyGate holds the rest until the head is done), each head waiting for
 * the worker that owns its key (KeyedLanes). What is done with a delivery is the tracker's call:
 * this only keeps the line.
 */
export class WaitingDeliveries {
  private readonly unkeyed = new Deque<Delivery>();
  private readonly gate = new KeyGate();
  private readonly lanes: KeyedLanes;

  constructor(private readonly links: DeliveryLinks) {
    this.lanes = new KeyedLanes(links);
  }

  /** Unkeyed deliveries in line. */
  get length(): number {
    return this.unkeyed.length;
  }

  /** Keys whose head is outstanding, and messages waiting behind the head of their key. */
  get keys(): { inFlight: number; waiting: number } {
    return { inFlight: this.gate.keys, waiting: this.gate.waiting };
  }

  /** A message just taken in: at the back of the line, or behind the head of its key. */
  add(delivery: Delivery): void {
    if (delivery.orderKey === undefined) {
      this.unkeyed.push(delivery);
    } else if (this.gate.admit(delivery, delivery.orderKey)) {
      this.lanes.add(delivery);
    }
  }

  /** Deliveries to send again (each still the head of its key, if it has one), back at the front, in their order. */
  requeue(deliveries: readonly Delivery[]): void {
    this.unkeyed.unshift(...deliveries.filter((delivery) => delivery.orderKey === undefined));
    for (const delivery of deliveries) {
      if (delivery.orderKey !== undefined) {
        this.lanes.add(delivery);
      }
    }
  }

  /** A delivery is done with for good (acked, dead-lettered): the next message of its key becomes the head. */
  done(delivery: Delivery): void {
    if (delivery.orderKey !== undefined) {
      const next = this.gate.leave(delivery, delivery.orderKey);
      if (next !== undefined) {
        this.lanes.add(next);
      }
    }
  }

  /**
   * Hands what waits to `send` while workers have free credit: the heads of keys to the workers
   * that own them, then the unkeyed ones to the worker with the most free credit. Those `sendable`
   * rejects (done with, or in flight already) leave the line.
   */
  send(sendable: (delivery: Delivery) => boolean, send: (delivery: Delivery, link: DeliveryLink) => void): void {
    this.lanes.send(sendable, send);
    while (this.unkeyed.length > 0) {
      const link = this.links.freest();
      if (link === undefined) {
        return;
      }
      const delivery = this.unkeyed.shift()!;
      if (sendable(delivery)) {
        send(delivery, link);
      }
    }
  }

  clear(): void {
    this.unkeyed.clear();
    this.lanes.clear();
    this.gate.clear();
  }
}
