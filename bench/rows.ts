import type { TransportDriver } from './drivers/driver.js';
import type { ServiceName } from './services.js';

/**
 * One row of the benchmark table. A row whose feature does not exist yet has no `driver` and says
 * why; it becomes a measured row by adding its driver here (one entry, no other change).
 */
export interface RowDefinition {
  id: string;
  label: string;
  /** Broker the row needs; without one answering, the row is skipped. */
  service?: ServiceName;
  /** Loaded lazily so that the coordinator does not load every transport. */
  driver?: () => Promise<TransportDriver>;
  /** Shown instead of numbers while there is no driver. */
  notImplemented?: string;
  /**
   * A broadcast row: one producer (publisher) and this many consumer processes (subscribers),
   * each of which gets every message; measured in the broadcast table only.
   */
  broadcast?: { subscribers: number };
  /** Environment variables of the row's processes, besides the coordinator's. */
  env?: Readonly<Record<string, string>>;
}

/** Ratios in the table are against these rows. */
export const RAW_BASELINE_ROW = 'raw-zeromq';
export const RAW_BATCHED_ROW = 'raw-zeromq-batched';
export const NEST_TCP_ROW = 'nest-tcp';
export const NEST_TCP_REQUEST_RESPONSE_ROW = 'nest-tcp-request-response';
/** nestjs-zeromq at-most-once with default options: the row most ratios are about. */
export const AT_MOST_ONCE_ROW = 'nestjs-zeromq';
export const CURVE_ROW = 'nestjs-zeromq-curve';
export const AT_LEAST_ONCE_ROW = 'nestjs-zeromq-at-least-once';
export const REQUEST_RESPONSE_ROW = 'nestjs-zeromq-request-response';
/** The Node limit at a payload size is the better of these rows' figures there (by row id: how the report names it). */
export const NODE_LIMIT_ROWS: Readonly<Record<string, string>> = { [RAW_BATCHED_ROW]: 'batched', [RAW_BASELINE_ROW]: 'single sends' };
/** nestjs-zeromq at-most-once with metrics on: compared with 'nestjs-zeromq' (issue 14). */
export const METRICS_ON_ROW = 'nestjs-zeromq-metrics';
/**
 * glibc's allocator settings of the tuned row: freed memory stays with the process instead of going
 * back to the kernel, so that reused memory is not faulted in again (docs/performance.md).
 */
const GLIBC_TUNED = 'glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=1073741824:glibc.malloc.top_pad=67108864';
/** Drawn off the chart's scale when it is faster than every transport. */
export const DISPATCH_CEILING_ROW = 'dispatch-ceiling';

export const ROWS: readonly RowDefinition[] = [
  {
    id: RAW_BASELINE_ROW,
    label: 'raw zeromq.js PUSH/PULL (JSON, await send)',
    driver: async () => (await import('./drivers/raw-zeromq.js')).rawZeroMqDriver,
  },
  {
    id: RAW_BATCHED_ROW,
    label: 'raw zeromq.js PUSH/PULL batched (≤ 256 records / 256 KiB per awaited send, tight loop)',
    driver: async () => (await import('./drivers/raw-zeromq-batched.js')).rawZeroMqBatchedDriver,
  },
  {
    id: DISPATCH_CEILING_ROW,
    label: 'Nest dispatch ceiling (handleEvent loop, no I/O)',
    driver: async () => (await import('./drivers/dispatch-ceiling.js')).dispatchCeilingDriver,
  },
  {
    id: AT_MOST_ONCE_ROW,
    label: 'nestjs-zeromq at-most-once',
    driver: async () => (await import('./drivers/nestjs-zeromq.js')).nestjsZeroMqAtMostOnce,
  },
  {
    id: CURVE_ROW,
    label: 'nestjs-zeromq at-most-once, CURVE + allow-list',
    driver: async () => (await import('./drivers/nestjs-zeromq.js')).nestjsZeroMqCurve,
  },
  {
    id: 'nestjs-zeromq-glibc-tuned',
    label: 'nestjs-zeromq at-most-once, glibc malloc tuned',
    driver: async () => (await import('./drivers/nestjs-zeromq.js')).nestjsZeroMqAtMostOnce,
    env: { GLIBC_TUNABLES: GLIBC_TUNED },
  },
  {
    id: METRICS_ON_ROW,
    label: 'nestjs-zeromq at-most-once, metrics on',
    // Compared with 'nestjs-zeromq' after every run (target ≥ 0.95×).
    driver: async () => (await import('./drivers/nestjs-zeromq-metrics.js')).nestjsZeroMqWithMetrics,
  },
  {
    id: AT_LEAST_ONCE_ROW,
    label: 'nestjs-zeromq at-least-once (emit resolves on ack)',
    driver: async () => (await import('./drivers/nestjs-zeromq.js')).nestjsZeroMqAtLeastOnce,
  },
  {
    id: 'nestjs-zeromq-keyed',
    label: 'nestjs-zeromq at-least-once, 1,000 keys (one in flight per key)',
    // Compared with 'nestjs-zeromq-at-least-once' (issue 21: target ≥ 0.5×).
    driver: async () => (await import('./drivers/nestjs-zeromq.js')).nestjsZeroMqKeyed1000,
  },
  {
    id: 'nestjs-zeromq-hot-key',
    label: 'nestjs-zeromq at-least-once, one hot key (one message per round trip)',
    driver: async () => (await import('./drivers/nestjs-zeromq.js')).nestjsZeroMqHotKey,
  },
  {
    id: 'nestjs-zeromq-outbox-commit',
    label: 'nestjs-zeromq at-least-once, durable outbox (commit; emit resolves when stored)',
    // Compared with 'nestjs-zeromq-at-least-once' (issue 20: target ≥ 0.7×).
    driver: async () => (await import('./drivers/nestjs-zeromq.js')).nestjsZeroMqOutboxCommit,
  },
  {
    id: 'nestjs-zeromq-outbox-flush',
    label: 'nestjs-zeromq at-least-once, durable outbox (flush to disk)',
    // Compared with 'nestjs-zeromq-at-least-once' (issue 20: target ≥ 0.3×).
    driver: async () => (await import('./drivers/nestjs-zeromq.js')).nestjsZeroMqOutboxFlush,
  },
  {
    id: REQUEST_RESPONSE_ROW,
    label: 'nestjs-zeromq request-response (send, reply awaited)',
    driver: async () => (await import('./drivers/nestjs-zeromq.js')).nestjsZeroMqRequestResponse,
  },
  {
    id: NEST_TCP_ROW,
    label: 'Nest TCP (emit to @EventPattern)',
    driver: async () => (await import('./drivers/nest-transports.js')).nestTcp,
  },
  {
    id: NEST_TCP_REQUEST_RESPONSE_ROW,
    label: 'Nest TCP request-response (send, reply awaited)',
    driver: async () => (await import('./drivers/nest-transports.js')).nestTcpRequestResponse,
  },
  {
    id: 'nest-redis',
    label: 'Nest Redis',
    service: 'redis',
    driver: async () => (await import('./drivers/nest-transports.js')).nestRedis,
  },
  {
    id: 'nest-nats',
    label: 'Nest NATS',
    service: 'nats',
    driver: async () => (await import('./drivers/nest-transports.js')).nestNats,
  },
];

/** Broadcast rows run with 1 and with 3 subscriber processes. */
export const BROADCAST_SUBSCRIBERS: readonly number[] = [1, 3];
/** The broadcast table's ratios are against these rows, with the same number of subscribers. */
export const RAW_PUB_SUB_ROW = 'raw-zeromq-pub-sub';
export const NEST_REDIS_BROADCAST_ROW = 'nest-redis-broadcast';

/** A broadcast row's id: its transport and its number of subscribers. */
export function broadcastRowId(transport: string, subscribers: number): string {
  return `${transport}-${subscribers}`;
}

/** One publisher to 1 and to 3 subscriber processes, each of which counts every message. */
const BROADCAST_TRANSPORTS: ReadonlyArray<Omit<RowDefinition, 'broadcast'>> = [
  {
    id: RAW_PUB_SUB_ROW,
    label: 'raw zeromq.js PUB/SUB (JSON, await send)',
    driver: async () => (await import('./drivers/raw-zeromq-pub-sub.js')).rawZeroMqPubSubDriver,
  },
  {
    id: 'nestjs-zeromq-broadcast',
    label: 'nestjs-zeromq broadcast (PUB/SUB)',
    driver: async () => (await import('./drivers/nestjs-zeromq.js')).nestjsZeroMqBroadcast,
  },
  {
    id: NEST_REDIS_BROADCAST_ROW,
    label: 'Nest Redis pub/sub (emit to every server)',
    service: 'redis',
    driver: async () => (await import('./drivers/nest-transports.js')).nestRedis,
  },
  {
    id: 'nest-nats-broadcast',
    label: 'Nest NATS (no queue group)',
    service: 'nats',
    driver: async () => (await import('./drivers/nest-transports.js')).nestNats,
  },
];

export const BROADCAST_ROWS: readonly RowDefinition[] = BROADCAST_TRANSPORTS.flatMap((transport) =>
  BROADCAST_SUBSCRIBERS.map((subscribers) => ({
    ...transport,
    id: broadcastRowId(transport.id, subscribers),
    label: `${transport.label}, ${subscribers} subscriber${subscribers === 1 ? '' : 's'}`,
    broadcast: { subscribers },
  })),
);

/**
 * The library as it was before this release (bench/drivers/baseline-release.ts), measured in the
 * same run: only when NESTJS_ZEROMQ_BASELINE names its build, and only when asked for by --rows.
 */
export const BASELINE_ROWS: readonly RowDefinition[] = [
  {
    id: 'baseline-at-most-once',
    label: 'before: nestjs-zeromq baseline build, at-most-once',
    driver: async () => (await import('./drivers/baseline-release.js')).baselineAtMostOnce(),
  },
  {
    id: 'baseline-at-least-once',
    label: 'before: nestjs-zeromq baseline build, at-least-once',
    driver: async () => (await import('./drivers/baseline-release.js')).baselineAtLeastOnce(),
  },
  {
    id: 'baseline-request-response',
    label: 'before: nestjs-zeromq baseline build, request-response',
    driver: async () => (await import('./drivers/baseline-release.js')).baselineRequestResponse(),
  },
];

const ALL_ROWS: readonly RowDefinition[] = [...ROWS, ...BROADCAST_ROWS, ...BASELINE_ROWS];

/** The event pattern of a row's processes: `bench.event.NN`, NN its place in the list (the same length for every row). */
export function rowPattern(id: string): string {
  return `bench.event.${String(ALL_ROWS.indexOf(findRow(id))).padStart(2, '0')}`;
}

export function findRow(id: string): RowDefinition {
  const row = ALL_ROWS.find((candidate) => candidate.id === id);
  if (row === undefined) {
    throw new Error(`Unknown row "${id}"; rows are: ${ALL_ROWS.map((candidate) => candidate.id).join(', ')}`);
  }
  return row;
}
