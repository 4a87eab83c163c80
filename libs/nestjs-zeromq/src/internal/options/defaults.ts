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
  receiveBudget: 64 * 1024 * 1024,
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
  keyedPoison: 'block',
  requestTimeout: 30_000,
  maxQueueSize: 100_000,
  maxQueueBytes: 64 * 1024 * 1024,
  overflow: 'reject',
  sendTimeout: 5_000,
  connectTimeout: 1_000,
  immediate: true,
  maxBatchSize: 256,
  maxBatchBytes: 256 * 1024,
  maxMessageSize: SERVER_DEFAULTS.maxMessageSize,
  receiveBudget: SERVER_DEFAULTS.receiveBudget,
  closeTimeout: 5_000,
  outbox: { durability: 'commit', resolveOn: 'stored', maxBytes: 1024 * 1024 * 1024 },
} as const;

/**
 * The default at-least-once credit of a socket: five times its concurrency, so that the next
 * deliveries are already waiting when handlers finish and a fast worker streams instead of waiting
 * a round trip (producer → worker → ack → producer) for each window of work. Twice (the earlier
 * default, 200) left a fast worker and its producer taking turns: at ~100 B, 52–57k acked
 * emits/s against 60–73k at 500, the worker then the busy side (docs/performance.md).
 */
export function defaultCredit(concurrency: number): number {
  return CREDIT_PER_HANDLER * concurrency;
}

const CREDIT_PER_HANDLER = 5;

/**
 * The default `receiveHighWaterMark` of a server socket: ZeroMQ counts messages, and a message may
 * be up to `maxMessageSize` bytes, so a connection holds at most the socket's receive budget in
 * ZeroMQ's queue (8 messages of 8 MiB with the defaults). Without a `maxMessageSize` (-1) ZeroMQ's
 * own default stays, and nothing bounds that queue in bytes.
 */
export function defaultReceiveHighWaterMark(receiveBudget: number, maxMessageSize: number): number {
  return maxMessageSize < 0 ? ZEROMQ_SEND_HIGH_WATER_MARK : Math.max(1, Math.floor(receiveBudget / Math.max(1, maxMessageSize)));
}

/** ZeroMQ's own default high-water mark, which PUB sockets keep (see SocketKind.dropsPastHighWaterMark). */
export const ZEROMQ_SEND_HIGH_WATER_MARK = 1_000;

/** Fewest ZeroMQ messages a client socket queues per connection, whatever the byte bounds. */
const MIN_SEND_HIGH_WATER_MARK = 16;

/**
 * The default `sendHighWaterMark`: ZeroMQ counts messages, and a message is a batch of up to
 * `maxBatchBytes`, so a connection whose peer stopped reading holds up to this many batches
 * outside the JavaScript heap. With `maxQueueBytes / maxBatchBytes` that is at most `maxQueueBytes`
 * (256 batches of 256 KiB with the defaults), as much again as the send queue itself may hold.
 */
export function defaultSendHighWaterMark(maxQueueBytes: number, maxBatchBytes: number): number {
  return Math.max(MIN_SEND_HIGH_WATER_MARK, Math.floor(maxQueueBytes / maxBatchBytes));
}

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
