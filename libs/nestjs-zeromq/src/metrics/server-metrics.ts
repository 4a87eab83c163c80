import { register } from 'prom-client';
import type { ZeroMqServerMetrics } from '../zeromq.metrics.js';
import type { ZeroMqServer } from '../zeromq.server.js';
import { PatternLabels } from './pattern-labels.js';
import { sharedHistogram, type HistogramCell } from './pulled-histogram.js';
import { registerPulled, snakeCase, type Sample } from './pulled-metrics.js';
import { DEFAULT_BUCKETS, METRIC_PREFIX, SENT_AT_METADATA_KEY, type ZeroMqMetricsOptions } from './zeromq-metrics.options.js';

const PREFIX = `${METRIC_PREFIX}server_`;

/** getMetrics() totals exported as counters (`nestjs_zeromq_server_<name>_total`). */
const COUNTERS: Record<Exclude<keyof ZeroMqServerMetrics, 'inFlight' | 'queued' | 'heldBytes' | 'connections' | 'discovery'>, string> = {
  received: 'Records received (events and requests) and passed to the deserializer.',
  handled: 'Handlers that completed.',
  failed: 'Handlers that threw, rejected or errored.',
  unknownPattern: 'Records whose pattern has no handler.',
  repliesFailed: 'Replies that could not be sent.',
  duplicates: 'At-least-once redeliveries acked again and not run twice.',
  beforeHello: 'At-least-once deliveries that came on a connection before its hello: not run, answered h (the producer sends them again).',
  deadLettered: 'At-least-once deliveries that failed their last attempt here, or were refused.',
  malformed: 'Messages whose frames could not be parsed at all.',
  undecodable: 'Records rejected on their own (bad pattern, metadata or payload).',
  droppedOnClose: 'Records received before close() (read, or held unread by the socket) whose handler had not started.',
  expired: 'Messages dropped unhandled because they had expired when their handler was to run.',
  missed: 'Broadcast records a publisher sent that never arrived here (gaps in its sequence).',
  unauthorized: 'CURVE connection attempts rejected by curve.allowClients.',
  disconnects: 'Connections that ended: peers that left, and connections ZeroMQ reset (a frame above maxMessageSize).',
  budgetPauses: 'Times a socket stopped reading because its receive budget was full.',
  oversized: 'Messages larger than their socket receive budget, read alone.',
};

/**
 * Registers a ZeroMqServer's metrics on a prom-client registry. Totals, connections and handlers
 * in flight are read from the server when the registry is scraped; handler duration (per socket,
 * pattern and outcome) and, for messages a client with `stampSendTime` sent, emit-to-handler
 * latency are observed from the server's `handler-end` event. Call it before `listen()`.
 */
export function registerZeroMqServerMetrics(server: ZeroMqServer, options: ZeroMqMetricsOptions = {}): void {
  const registry = options.registry ?? register;
  const name = options.name ?? 'default';
  for (const [key, help] of Object.entries(COUNTERS)) {
    registerPulled(registry, { kind: 'counter', name: `${PREFIX}${snakeCase(key)}_total`, help, labelNames: ['server'] }, () => [
      { labels: { server: name }, value: server.getMetrics()[key as keyof typeof COUNTERS] },
    ]);
  }
  const perSocket = (read: () => Record<string, number>) => (): Sample[] =>
    Object.entries(read()).map(([socket, value]) => ({ labels: { server: name, socket }, value }));
  const states = () => Object.entries(server.getSocketStates());
  const gauges: Array<[string, string, () => Record<string, number>]> = [
    ['connections', 'Live connections (peers) per socket.', () => server.getMetrics().connections],
    [
      'in_flight',
      'Handlers running now per socket.',
      () => Object.fromEntries(states().map(([socket, state]) => [socket, state.inFlight])),
    ],
    [
      'queued',
      'Records read ahead of their handlers per socket (at most about prefetch).',
      () => Object.fromEntries(states().map(([socket, state]) => [socket, state.queued])),
    ],
    [
      'concurrency',
      "The socket's concurrency: most handlers running at once.",
      () => Object.fromEntries(states().map(([socket, state]) => [socket, state.concurrency])),
    ],
    [
      'held_bytes',
      'Bytes of the records read and not finished (waiting and running) per socket.',
      () => Object.fromEntries(states().map(([socket, state]) => [socket, state.heldBytes])),
    ],
    [
      'receive_budget_bytes',
      "The socket's receive budget: near it, the socket stops reading until handlers finish.",
      () => Object.fromEntries(states().map(([socket, state]) => [socket, state.receiveBudget])),
    ],
    [
      'reading',
      'Whether the socket reads messages (1) or its read loop stopped (0).',
      () => Object.fromEntries(states().map(([socket, state]) => [socket, Number(state.reading)])),
    ],
  ];
  for (const [gauge, help, read] of gauges) {
    registerPulled(registry, { kind: 'gauge', name: `${PREFIX}${gauge}`, help, labelNames: ['server', 'socket'] }, perSocket(read));
  }
  observeHandlers(server, name, options);
}

function observeHandlers(server: ZeroMqServer, name: string, options: ZeroMqMetricsOptions): void {
  const registry = options.registry ?? register;
  const buckets = options.buckets ?? DEFAULT_BUCKETS;
  const duration = sharedHistogram(
    registry,
    `${PREFIX}handler_duration_seconds`,
    'Time a handler ran, until its result (and for a request its response stream) ended.',
    ['server', 'socket', 'pattern', 'outcome'],
    buckets,
  );
  const latency = sharedHistogram(
    registry,
    `${PREFIX}delivery_latency_seconds`,
    "Time from a producer's emit (its clock, from the message's send-time stamp) to the start of the handler here.",
    ['server', 'socket', 'pattern'],
    buckets,
  );
  const known = options.patterns === undefined ? undefined : new Set(options.patterns);
  const patterns = new PatternLabels(
    (pattern) => (known === undefined ? server.getHandlers().has(pattern) : known.has(pattern)),
    options.learnPatterns ?? 0,
  );
  // The cells of one socket and pattern label (a bounded set), looked up without building a label key per message.
  const cells = new Map<string, Map<string, { success: HistogramCell; error: HistogramCell; latency: HistogramCell }>>();
  const cellsOf = (socket: string, pattern: string) => {
    let bySocket = cells.get(socket);
    if (bySocket === undefined) {
      bySocket = new Map();
      cells.set(socket, bySocket);
    }
    const label = patterns.label(pattern);
    let found = bySocket.get(label);
    if (found === undefined) {
      const labels = { server: name, socket, pattern: label };
      found = {
        success: duration.cell({ ...labels, outcome: 'success' }),
        error: duration.cell({ ...labels, outcome: 'error' }),
        latency: latency.cell(labels),
      };
      bySocket.set(label, found);
    }
    return found;
  };
  // Timed by the server itself ('handler-end'): no processing hooks, so handlers keep being called directly.
  server.on('handler-end', (context, durationMs, outcome) => {
    const cell = cellsOf(context.getSocketName(), context.getPattern());
    cell[outcome].observe(durationMs / 1000);
    const sentAt = Number(context.getMetadata()?.[SENT_AT_METADATA_KEY]);
    if (sentAt > 0) {
      // Clocks of two machines differ: a stamp from the future counts as no delay.
      cell.latency.observe(Math.max(0, Date.now() - durationMs - sentAt) / 1000);
    }
  });
}
