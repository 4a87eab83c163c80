import type { ClientRoutePlan } from '../options/plans.js';
import type { DeliveryTracker } from '../at-least-once/delivery-tracker.js';
import type { Outbox } from './outbox.js';

/** A route as the table sees it: its name, the patterns it lists (none: the default route) and its links. */
export interface TableRoute<L> {
  readonly name: string;
  readonly patterns: readonly string[];
  readonly links: L[];
}

/** A client's route: the socket(s) a pattern is sent over, one PUSH or XPUB socket or one DEALER per endpoint. */
export interface ClientRoute extends TableRoute<Outbox> {
  readonly plan: ClientRoutePlan;
  /** At-least-once routes: the messages not acked yet. */
  readonly tracker: DeliveryTracker | undefined;
}

/**
 * Which route (and which of its links) a pattern goes to: the route that lists the pattern, else
 * the default route. Among a route's links the one with the least load wins, connected links
 * first, round-robin among equals.
 */
export class RouteTable<L extends { readonly name: string }, R extends TableRoute<L> = TableRoute<L>> {
  private readonly byPattern = new Map<string, R>();
  private readonly byLink = new Map<string, L>();
  private readonly fallback: R | undefined;
  private turn = 0;

  constructor(readonly routes: readonly R[]) {
    let fallback: R | undefined;
    for (const route of routes) {
      if (route.patterns.length === 0) {
        fallback = route;
      }
      for (const pattern of route.patterns) {
        this.byPattern.set(pattern, route);
      }
      for (const link of route.links) {
        this.byLink.set(link.name, link);
      }
    }
    this.fallback = fallback;
  }

  routeFor(pattern: string): R | undefined {
    return this.byPattern.get(pattern) ?? this.fallback;
  }

  link(name: string): L | undefined {
    return this.byLink.get(name);
  }

  links(): L[] {
    return [...this.byLink.values()];
  }

  /** A new link of `route` (a peer that DNS discovery found): picked from now on. */
  addLink(route: R, link: L): void {
    route.links.push(link);
    this.byLink.set(link.name, link);
  }

  /** Takes a link of `route` out of rotation and out of the table (its peer left DNS). */
  removeLink(route: R, name: string): void {
    const index = route.links.findIndex((link) => link.name === name);
    if (index >= 0) {
      route.links.splice(index, 1);
    }
    this.byLink.delete(name);
  }

  pick(route: R, connected: (link: L) => boolean, load: (link: L) => number): L {
    const { links } = route;
    if (links.length === 1) {
      return links[0];
    }
    const live = links.filter(connected);
    const candidates = live.length > 0 ? live : links;
    let best = candidates[0];
    let bestLoad = Infinity;
    for (let i = 0; i < candidates.length; i++) {
      const link = candidates[(this.turn + i) % candidates.length];
      const linkLoad = load(link);
      if (linkLoad < bestLoad) {
        best = link;
        bestLoad = linkLoad;
      }
    }
    this.turn++;
    return best;
  }
}
