import type { ServerCounter } from './internal/server/server-counters.js';

/*
 * What `getMetrics()`, `getSocketStates()` and `getQueueStates()` of a ZeroMqServer and a
 * ZeroMqClient return: the numbers health checks, dashboards and tests read.
 */

/** DNS discovery of a server or client, in `getMetrics()` when it follows a name. */
export interface ZeroMqDiscoveryMetrics {
  /** Resolutions that failed (the last good set was kept), over every followed name. */
  resolutionFailures: number;
  /** Peer addresses the followed names list now. */
  peers: number;
}

/** Counters of a ZeroMqServer, from `getMetrics()`. */
export interface ZeroMqServerMetrics extends Record<ServerCounter, number> {
  /** CURVE clients rejected by `curve.allowClients` (each rejected connection attempt). */
  unauthorized: number;
  /** Handlers running now. */
  inFlight: number;
  /** Records read ahead of their handlers now (at most about `prefetch` per socket). */
  queued: number;
  /** Bytes of the records read and not finished now (waiting and running), against `receiveBudget`. */
  heldBytes: number;
  /** Times a socket stopped reading because its receive budget was full (ZeroMQ then pushes back). */
  budgetPauses: number;
  /** Messages larger than their socket's receive budget, read alone once nothing else was held. */
  oversized: number;
  /** Live connections per socket name, from the socket monitor. */
  connections: Record<string, number>;
  /**
   * Connections that ended, from the socket monitor: peers that went away, and connections ZeroMQ
   * reset itself, for example for a frame above `maxMessageSize` (which never reaches the library).
   */
  disconnects: number;
  /** `'pub-sub'` sockets: broadcast records that never arrived (gaps in a publisher's sequence: dropped at a high-water mark). */
  missed: number;
  /** DNS discovery (`tcp+dns://`, `tcp+srv://` endpoints), when a socket follows a name. */
  discovery?: ZeroMqDiscoveryMetrics;
}

/** One socket of a ZeroMqServer, from `getSocketStates()`: what a readiness probe looks at. */
export interface ZeroMqServerSocketState {
  /** Whether its read loop runs (false once it stopped on an error, or after `close()`). */
  reading: boolean;
  /** Handlers running now for this socket. */
  inFlight: number;
  /** Records read ahead of their handlers (at most about `prefetch`). */
  queued: number;
  /** The socket's `concurrency`: at this many handlers it stops reading until one ends. */
  concurrency: number;
  /** Bytes of the records read and not finished (waiting and running). */
  heldBytes: number;
  /** The socket's receive budget in bytes: near it, the socket stops reading until handlers finish. */
  receiveBudget: number;
}

/** Counters of a ZeroMqClient, from `getMetrics()`. */
export interface ZeroMqClientMetrics {
  /** Emits handed to ZeroMQ (at-most-once) or acknowledged by a worker (at-least-once). */
  sent: number;
  /** Emits that failed (timeout, full queue, dropped, closed, no route, serialization). */
  failed: number;
  /**
   * ZeroMQ messages sent; `(sent + redelivered + requests) / batches` is about the mean batch size
   * (at-least-once hellos and dead letters are messages too).
   */
  batches: number;
  /** Requests (`send()`) handed to ZeroMQ. */
  requests: number;
  /** Requests that failed before their last reply (timeout, lost server, closed, send failure). */
  requestsFailed: number;
  /** Replies for requests nobody waits for any more (timed out or unsubscribed). */
  lateReplies: number;
  /** Messages from servers that could not be read as replies. */
  malformedReplies: number;
  /** At-least-once messages acked by a worker. */
  acked: number;
  /** At-least-once deliveries that were repeats (after a failure, lost ack or lost worker). */
  redelivered: number;
  /** At-least-once messages given up on (their emits rejected with DEAD_LETTER). */
  deadLettered: number;
  /** At-least-once messages not acked yet (waiting, in flight or backing off). */
  unacked: number;
  /** At-least-once with a durable outbox: messages read back that an earlier process had stored. */
  replayed: number;
  /** Emits and requests waiting in the queues now. */
  queued: number;
  /** Requests waiting for replies now. */
  pendingRequests: number;
  /** Live connections per socket name, from the socket monitor. */
  connections: Record<string, number>;
  /** `'pub-sub'` sockets by name: subscribers per subscribed prefix. */
  subscriptions: Record<string, Record<string, number>>;
  /** Subscribers turned away by `curve.allowSubscribers` (0 without it). */
  unauthorized: number;
  /** DNS discovery (`tcp+dns://`, `tcp+srv://` endpoints), when a socket or route follows a name. */
  discovery?: ZeroMqDiscoveryMetrics;
  /** The durable outboxes (docs/delivery.md, "Durable outbox"), when a route has one. */
  outbox?: ZeroMqOutboxMetrics;
}

/** One send queue of a ZeroMqClient, from `getQueueStates()`: its depth against its bound. */
export interface ZeroMqClientQueueState {
  /** Emits and requests waiting (not counting the batch being handed to ZeroMQ). */
  queued: number;
  /** The bound: at this many, emits fail with QUEUE_FULL (or drop the oldest, per `overflow`). */
  maxQueueSize: number;
}

/** What a client's durable outboxes hold (`getMetrics().outbox`). */
export interface ZeroMqOutboxMetrics {
  /** Messages stored and not acked yet, over every route. */
  stored: number;
  /** Their bytes on disk. */
  storedBytes: number;
  /** Milliseconds since the oldest stored message was accepted (0 when none is). */
  oldestAgeMs: number;
  /** Messages in the dead-letter tables. */
  deadLetters: number;
  /** Routes whose stored bytes reached `outbox.maxBytes` (their emits fail with `OUTBOX_FULL`). */
  full: string[];
}
