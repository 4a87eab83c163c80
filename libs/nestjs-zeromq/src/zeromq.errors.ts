/**
 * An emit that did not reach ZeroMQ: the error names the pattern and the socket.
 * `code` tells why: `SEND_TIMEOUT` (no peer took it within `sendTimeout`), `QUEUE_FULL`,
 * `DROPPED` (pushed out by `overflow: 'drop-oldest'`), `CLOSED` (client closed first),
 * `NO_ROUTE` (no route and no default socket), `SEND_FAILED` (any other socket error),
 * `DEAD_LETTER` (at-least-once: given up on after `maxAttempts`, or refused by the worker),
 * `OUTBOX_FULL` and `NOT_STORED` (the durable outbox is at its bound, or could not write),
 * `PEER_REJECTED` (every endpoint the socket connects to closed the connection during the ZeroMQ
 * handshake: a socket kind that does not match, a CURVE peer; the message names which).
 * @publicApi
 */
export class ZeroMqSendError extends Error {
  override readonly name = 'ZeroMqSendError';

  constructor(
    readonly code: ZeroMqSendErrorCode,
    readonly pattern: string,
    readonly socket: string,
    readonly endpoints: readonly string[],
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`Cannot emit "${pattern}" on socket "${socket}" (${endpoints.join(', ') || 'no endpoints'}): ${detail}`, options);
  }
}

export type ZeroMqSendErrorCode =
  | 'SEND_TIMEOUT'
  | 'QUEUE_FULL'
  | 'DROPPED'
  | 'CLOSED'
  | 'NO_ROUTE'
  | 'SEND_FAILED'
  | 'DEAD_LETTER'
  /** The durable outbox is at its `maxBytes`. */
  | 'OUTBOX_FULL'
  /** The durable outbox could not store the message (disk full, I/O error). */
  | 'NOT_STORED'
  /** Every endpoint the socket connects to rejected it during the ZeroMQ handshake. */
  | 'PEER_REJECTED';

/** Options that cannot work, thrown by the ZeroMqServer / ZeroMqClient constructors. @publicApi */
export class ZeroMqOptionsError extends Error {
  override readonly name = 'ZeroMqOptionsError';
}

/**
 * A `send()` that got no complete answer. `code` tells why: `TIMEOUT` (no last reply within
 * `requestTimeout`), `PEER_LOST` (the server it went to disconnected first), `CLOSED` (the client
 * closed first), `WRONG_SOCKET_KIND` (the pattern's socket carries no replies), or, when the
 * request never reached ZeroMQ, the same codes as ZeroMqSendError (`SEND_TIMEOUT`, `QUEUE_FULL`...).
 * @publicApi
 */
export class ZeroMqRequestError extends Error {
  override readonly name = 'ZeroMqRequestError';

  constructor(
    readonly code: ZeroMqRequestErrorCode,
    readonly pattern: string,
    readonly socket: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`Request "${pattern}" on socket "${socket}" failed: ${detail}`, options);
  }
}

export type ZeroMqRequestErrorCode = 'TIMEOUT' | 'PEER_LOST' | 'CLOSED' | 'WRONG_SOCKET_KIND' | ZeroMqSendErrorCode;

/**
 * A durable outbox that cannot be used, thrown by `connect()`: the optional package `lmdb` is
 * missing, another process holds the outbox path, or the store cannot be opened (damaged).
 * @publicApi
 */
export class ZeroMqOutboxError extends Error {
  override readonly name = 'ZeroMqOutboxError';
}
