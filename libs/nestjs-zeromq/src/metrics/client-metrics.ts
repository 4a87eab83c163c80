import type { ReadPacket } from '@nestjs/microservices';
import { register } from 'prom-client';
import { addDispatchHook } from '../hooks/zeromq.hooks.js';
import type { ZeroMqClient } from '../zeromq.client.js';
import type { ZeroMqClientMetrics } from '../zeromq.metrics.js';
import { PatternLabels } from './pattern-labels.js';
import { registerPulled, snakeCase, type Sample } from './pulled-metrics.js';
import { METRIC_PREFIX, SENT_AT_METADATA_KEY, type ZeroMqMetricsOptions } from './zeromq-metrics.options.js';

const PREFIX = `${METRIC_PREFIX}client_`;

/** Options of `registerZeroMqClientMetrics`. */
export interface ZeroMqClientMetricsOptions extends ZeroMqMetricsOptions {
  /**
   * Stamp every message with the time it was emitted (metadata `zeromq-sent-at`, about 30 bytes),
   * so that servers with metrics observe emit-to-handler latency. Meaningful when the clocks of
   * producer and worker machines are synchronised.
   * @default false
   */
  stampSendTime?: boolean;
}

/** getMetrics() totals exported as counters (`nestjs_zeromq_client_<name>_total`). */
const COUNTERS: Partial<Record<keyof ZeroMqClientMetrics, string>> = {
  sent: 'Emits handed to ZeroMQ (at-least-once: acknowledged by a worker).',
  failed: 'Emits that failed (timeout, full queue, dropped, closed, no route, serialization).',
  batches: 'ZeroMQ messages sent (each carries one or more records).',
  requests: 'Requests (send()) handed to ZeroMQ.',
  requestsFailed: 'Requests that failed before their last reply.',
  lateReplies: 'Replies for requests nobody waits for any more.',
  malformedReplies: 'Messages from servers that could not be read as replies.',
  acked: 'At-least-once messages acked by a worker.',
  redelivered: 'At-least-once deliveries that were repeats.',
  deadLettered: 'At-least-once messages given up on.',
  unauthorized: 'Subscribers turned away by curve.allowSubscribers.',
};

/**
 * Registers a ZeroMqClient's metrics on a prom-client registry: its totals, queue depths and
 * connections, read when the registry is scraped, and messages dispatched per pattern (through
 * the client's dispatch hook). Call it before the first emit.
 */
export function registerZeroMqClientMetrics(client: ZeroMqClient, options: ZeroMqClientMetricsOptions = {}): void {
  const registry = options.registry ?? register;
  const name = options.name ?? 'default';
  const totals = () => client.getMetrics() as unknown as Record<string, number>;
  for (const [key, help] of Object.entries(COUNTERS)) {
    registerPulled(registry, { kind: 'counter', name: `${PREFIX}${snakeCase(key)}_total`, help, labelNames: ['client'] }, () => [
      { labels: { client: name }, value: totals()[key] },
    ]);
  }
  const whole: Array<[string, string, keyof ZeroMqClientMetrics]> = [
    ['unacked', 'At-least-once messages not acked yet.', 'unacked'],
    ['pending_requests', 'Requests waiting for replies.', 'pendingRequests'],
  ];
  for (const [gauge, help, key] of whole) {
    registerPulled(registry, { kind: 'gauge', name: `${PREFIX}${gauge}`, help, labelNames: ['client'] }, () => [
      { labels: { client: name }, value: totals()[key] },
    ]);
  }
  const perSocket = (read: () => Record<string, number>) => (): Sample[] =>
    Object.entries(read()).map(([socket, value]) => ({ labels: { client: name, socket }, value }));
  const queues = () => Object.entries(client.getQueueStates());
  const gauges: Array<[string, string, () => Record<string, number>]> = [
    ['connections', 'Live connections (peers) per socket.', () => client.getMetrics().connections],
    [
      'queued',
      'Emits and requests waiting in the send queue per socket.',
      () => Object.fromEntries(queues().map(([socket, state]) => [socket, state.queued])),
    ],
    [
      'max_queue_size',
      'The bound of each send queue (maxQueueSize).',
      () => Object.fromEntries(queues().map(([socket, state]) => [socket, state.maxQueueSize])),
    ],
  ];
  for (const [gauge, help, read] of gauges) {
    registerPulled(registry, { kind: 'gauge', name: `${PREFIX}${gauge}`, help, labelNames: ['client', 'socket'] }, perSocket(read));
  }
  registerPulled(
    registry,
    {
      kind: 'gauge',
      name: `${PREFIX}subscribers`,
      help: "Subscribers holding each subscribed prefix of a 'pub-sub' socket.",
      labelNames: ['client', 'socket', 'prefix'],
    },
    () =>
      Object.entries(client.getMetrics().subscriptions).flatMap(([socket, prefixes]) =>
        Object.entries(prefixes).map(([prefix, value]) => ({ labels: { client: name, socket, prefix }, value })),
      ),
  );
  countDispatches(client, name, options);
}

function countDispatches(client: ZeroMqClient, name: string, options: ZeroMqClientMetricsOptions): void {
  const known = new Set(options.patterns ?? []);
  const patterns = new PatternLabels((pattern) => known.has(pattern), options.learnPatterns ?? 50);
  // Counted here, read when scraped: an emit pays a map lookup, not prom-client's label hashing.
  const counts = new Map<string, number>();
  registerPulled(
    options.registry ?? register,
    {
      kind: 'counter',
      name: `${PREFIX}dispatched_total`,
      help: 'Emits and requests made, per pattern (before they are queued; see sent_total and failed_total for their fate).',
      labelNames: ['client', 'pattern'],
    },
    () => [...counts].map(([pattern, value]) => ({ labels: { client: name, pattern }, value })),
  );
  const normalize = (pattern: unknown) => (client as unknown as { normalizePattern(pattern: unknown): string }).normalizePattern(pattern);
  const stamp = options.stampSendTime === true;
  addDispatchHook(client, (packet: ReadPacket) => {
    const label = patterns.label(typeof packet.pattern === 'string' ? packet.pattern : normalize(packet.pattern));
    counts.set(label, (counts.get(label) ?? 0) + 1);
    if (stamp) {
      packet.metadata = { ...packet.metadata, [SENT_AT_METADATA_KEY]: String(Date.now()) };
    }
  });
}
