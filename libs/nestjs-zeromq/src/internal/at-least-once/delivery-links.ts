import type { DeliveryLink } from './delivery.js';
import { hashText, rendezvousWinner } from './rendezvous.js';

/**
 * The worker connections of an at-least-once route as its tracker sees them: the credit each
 * worker announced, what is in flight on it, and which one a delivery goes to next (the one with
 * the most free credit). Links come and go with DNS discovery: a retired link takes nothing new
 * while its deliveries in flight may still be acked. A keyed delivery goes to the owner of its key
 * instead: the live link (credit announced, not retired) that rendezvous hashing picks.
 */
export class DeliveryLinks {
  /** Changes whenever a link becomes live or stops being live: the owners of keys may have changed. */
  generation = 0;
  private readonly links = new Map<string, DeliveryLink>();
  /** The live links, while `generation` stays the same. */
  private live: DeliveryLink[] | undefined;

  constructor(names: readonly string[]) {
    for (const name of names) {
      this.add(name);
    }
  }

  /** Sets a link's window (0 withdraws it); false for an unknown or retired link. */
  credit(name: string, window: number): boolean {
    const link = this.links.get(name);
    if (link === undefined || link.retired === true) {
      return false;
    }
    this.setWindow(link, window);
    return true;
  }

  /** Voids a link's credit until its worker announces it again (a lost connection, a refused send). */
  voidCredit(name: string): boolean {
    const link = this.links.get(name);
    if (link !== undefined) {
      this.setWindow(link, 0);
    }
    return link !== undefined;
  }

  /** A new link, or a retired one back (it gets work once it announces its credit). */
  add(name: string): void {
    const link = this.links.get(name);
    if (link === undefined) {
      this.links.set(name, { name, seed: hashText(name), window: 0, unacked: 0 });
    } else {
      link.retired = false;
    }
  }

  retire(name: string): void {
    const link = this.links.get(name);
    if (link !== undefined) {
      this.setWindow(link, 0);
      link.retired = true;
    }
  }

  remove(name: string): void {
    const link = this.links.get(name);
    if (link !== undefined) {
      this.setWindow(link, 0);
      this.links.delete(name);
    }
  }

  get(name: string): DeliveryLink | undefined {
    return this.links.get(name);
  }

  /** The live link that owns `key`, if any link is live. */
  owner(key: string): DeliveryLink | undefined {
    this.live ??= [...this.links.values()].filter((link) => link.window > 0);
    return rendezvousWinner(key, this.live, (link) => link.seed);
  }

  unackedOn(name: string): number {
    return this.links.get(name)?.unacked ?? 0;
  }

  /** The link with the most free credit, if any has some. */
  freest(): DeliveryLink | undefined {
    let best: DeliveryLink | undefined;
    for (const link of this.links.values()) {
      const free = link.window - link.unacked;
      if (free > 0 && (best === undefined || free > best.window - best.unacked)) {
        best = link;
      }
    }
    return best;
  }

  private setWindow(link: DeliveryLink, window: number): void {
    if (link.window > 0 !== window > 0) {
      this.generation++;
      this.live = undefined;
    }
    link.window = window;
  }

  /** A delivery left on `link`. */
  sent(link: DeliveryLink): void {
    link.unacked++;
  }

  /** A delivery on the link named `name` ended (acked, failed, lost). */
  released(name: string): void {
    const link = this.links.get(name);
    if (link !== undefined) {
      link.unacked--;
    }
  }

  /**
   * Delivery `id`, sent at `sentAt`, timed out on the link named `name`: it keeps its credit there
   * until answered (`answeredLate`). False when the connection it went out on has dropped since
   * (nothing will answer it there): the caller frees its credit.
   */
  heldLate(name: string, id: string, sentAt: number): boolean {
    const link = this.links.get(name);
    if (link === undefined) {
      return false;
    }
    if (link.lostAt !== undefined && sentAt <= link.lostAt) {
      return false;
    }
    link.late ??= new Set();
    if (link.late.has(id)) {
      // Sent there again and late again: the worker answers it once (it drops a copy of what it runs).
      link.unacked--;
    } else {
      link.late.add(id);
    }
    return true;
  }

  /** The worker on `name` answered delivery `id`; true when it had timed out there (its credit is free again). */
  answeredLate(name: string, id: string): boolean {
    const link = this.links.get(name);
    if (link?.late?.delete(id) !== true) {
      return false;
    }
    link.unacked--;
    return true;
  }

  /** The link's connection dropped at `lostAt`: what was sent on it before will never be answered there. */
  lost(name: string, lostAt: number): void {
    const link = this.links.get(name);
    if (link === undefined) {
      return;
    }
    link.lostAt = lostAt;
    if (link.late !== undefined) {
      link.unacked -= link.late.size;
      link.late = undefined;
    }
  }
}
