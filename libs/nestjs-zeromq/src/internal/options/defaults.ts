/**
 * The defaults of every option, one object per side: the schemas (schemas.ts) apply them, and the
 * `@default` lines of zeromq.options.ts document them. Change a default here and there only.
 */
export const TUNING_DEFAULTS = {
  linger: 1_000,
  heartbeat: { interval: 1_000, timeout: 3_000 },
  reconnectInterval: 100,
  reconnectMaxInterval: 5_000,
  logInterval: 5_000,
} as const;

export const SERVER_DEFAULTS = {
  ...TUNING_DEFAULTS,
  bind: true,
  kind: 'push-pull',
  concurrency: 100,
  prefetch: 1_000,
  maxMessageSize: 8 * 1024 * 1024,
  maxPatternLength: 1_024,
  maxRecordsPerMessage: 4_096,
  receiveHighWaterMark: 1_000,
  closeTimeout: 10_000,
  dedupeWindow: 100_000,
  plainDecoding: 'utf8',
} as const;

export const CLIENT_DEFAULTS = {
  ...TUNING_DEFAULTS,
  bind: false,
  kind: 'push-pull',
  delivery: 'at-most-once',
  ackTimeout: 30_000,
  maxAttempts: 5,
  retryDelay: 200,
  maxRetryDelay: 10_000,
  requestTimeout: 30_000,
  maxQueueSize: 10_000,
  maxQueueBytes: 64 * 1024 * 1024,
  overflow: 'reject',
  sendTimeout: 5_000,
  connectTimeout: 1_000,
  immediate: true,
  maxBatchSize: 256,
  maxBatchBytes: 256 * 1024,
  sendHighWaterMark: 1_000,
  closeTimeout: 5_000,
} as const;

/** Defaults of `discovery` (EndpointDiscoveryOptions), the same on either side. */
export const DISCOVERY_DEFAULTS = {
  interval: 5_000,
  jitter: 0.2,
  minRefreshInterval: 1_000,
  queryTimeout: 2_000,
  queryTries: 2,
  emptyAnswer: 'keep',
  logInterval: 10_000,
} as const;
