import type { ZeroMqOutboxMetrics } from '../../zeromq.metrics.js';
import type { ClientRoutePlan } from '../options/plans.js';
import type { ParsedOutboxOptions } from '../options/schemas.js';
import type { DeliveryStore } from './delivery-store.js';
import { LmdbOutbox } from './lmdb-outbox.js';

/** The durable outbox of one route, as its tracker gets it. */
export interface RouteOutbox {
  store: DeliveryStore;
  options: ParsedOutboxOptions;
}

/**
 * The durable outboxes of a client's at-least-once routes: one store per path (routes sharing a
 * path get a table each), opened before any socket so that a locked or damaged store fails
 * `connect()` with nothing half open, and closed after the trackers have drained.
 */
export class ClientOutboxes {
  private constructor(
    private readonly opened: LmdbOutbox[],
    private readonly byRoute: Map<string, RouteOutbox>,
  ) {}

  static async open(
    plans: readonly ClientRoutePlan[],
    onWriteError: (path: string, what: string, error: Error) => void,
  ): Promise<ClientOutboxes> {
    const opened = new Map<string, LmdbOutbox>();
    const byRoute = new Map<string, RouteOutbox>();
    try {
      for (const plan of plans) {
        const options = plan.outbox;
        if (options === undefined) {
          continue;
        }
        let outbox = opened.get(options.path);
        if (outbox === undefined) {
          outbox = await LmdbOutbox.open({
            path: options.path,
            durability: options.durability,
            onWriteError: (what, error) => onWriteError(options.path, what, error),
          });
          opened.set(options.path, outbox);
        }
        byRoute.set(plan.name, { store: outbox.route(plan.name, options.maxBytes), options });
      }
    } catch (error) {
      await Promise.all([...opened.values()].map((outbox) => outbox.close()));
      throw error;
    }
    return new ClientOutboxes([...opened.values()], byRoute);
  }

  /** The outbox of a route, if it has one. */
  of(route: string): RouteOutbox | undefined {
    return this.byRoute.get(route);
  }

  metrics(now = Date.now()): ZeroMqOutboxMetrics {
    const metrics: ZeroMqOutboxMetrics = { stored: 0, storedBytes: 0, oldestAgeMs: 0, deadLetters: 0, full: [] };
    for (const [route, { store }] of this.byRoute) {
      metrics.stored += store.count;
      metrics.storedBytes += store.bytes;
      metrics.deadLetters += store.deadLetterCount();
      const oldest = store.oldestStoredAt();
      if (oldest !== undefined) {
        metrics.oldestAgeMs = Math.max(metrics.oldestAgeMs, now - oldest);
      }
      if (store.bytes >= store.maxBytes) {
        metrics.full.push(route);
      }
    }
    return metrics;
  }

  async close(): Promise<void> {
    await Promise.all(this.opened.map((outbox) => outbox.close()));
  }
}
