import type { Registry } from 'prom-client';
import type { ZeroMqClient } from '../zeromq.client.js';
import type { ZeroMqOutboxRouteMetrics } from '../zeromq.metrics.js';
import { registerPulled } from './pulled-metrics.js';

/** Gauges per route with a durable outbox (`nestjs_zeromq_client_outbox_<name>`), read from `getMetrics().outbox.routes`. */
const OUTBOX_GAUGES: Array<[string, string, (route: ZeroMqOutboxRouteMetrics) => number]> = [
  ['stored', 'At-least-once messages stored in the durable outbox and not acked yet.', (route) => route.stored],
  ['stored_bytes', 'Bytes of the messages stored in the durable outbox.', (route) => route.storedBytes],
  [
    'max_bytes',
    "The outbox's bound (outbox.maxBytes): an emit that would take stored_bytes past it fails with OUTBOX_FULL.",
    (route) => route.maxBytes,
  ],
  ['oldest_age_seconds', 'Age of the oldest message stored in the outbox (0 when it is empty).', (route) => route.oldestAgeMs / 1000],
  ['dead_letters', "Messages in the outbox's dead-letter table (until requeued or purged with the CLI).", (route) => route.deadLetters],
  ['full', 'Whether the outbox is at its bound (1: emits fail with OUTBOX_FULL) or not (0).', (route) => Number(route.full)],
];

/**
 * Registers the durable outbox gauges of a client, labelled by client and route. A client without
 * an outbox adds no series. Each scrape reads the outboxes once per gauge (a count and one record
 * per route, from memory and the store's pages).
 */
export function registerClientOutboxMetrics(registry: Registry, client: ZeroMqClient, name: string, prefix: string): void {
  for (const [gauge, help, read] of OUTBOX_GAUGES) {
    registerPulled(registry, { kind: 'gauge', name: `${prefix}outbox_${gauge}`, help, labelNames: ['client', 'route'] }, () =>
      Object.entries(client.getMetrics().outbox?.routes ?? {}).map(([route, metrics]) => ({
        labels: { client: name, route },
        value: read(metrics),
      })),
    );
  }
}
