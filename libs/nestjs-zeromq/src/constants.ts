/**
 * Identifies this transport in hybrid applications:
 * `@EventPattern('orders.created', ZEROMQ_TRANSPORT)` binds a handler to a `ZeroMqServer` only.
 */
export const ZEROMQ_TRANSPORT = Symbol('ZEROMQ_TRANSPORT');

/** The error a request for an unknown pattern gets: the wording of Nest's built-in transports. */
export const NO_MESSAGE_HANDLER = 'There is no matching message handler defined in the remote service.';

/** Name of the socket made from the top-level `endpoints` option (routes use their own `name`). */
export const DEFAULT_SOCKET_NAME = 'default';

// Defaults of both sides.
export const DEFAULT_SOCKET_KIND = 'push-pull';

// Server defaults (documented on ZeroMqServerOptions).
export const DEFAULT_SERVER_BIND = true;
export const DEFAULT_CONCURRENCY = 100;
export const DEFAULT_MAX_MESSAGE_SIZE = 8 * 1024 * 1024;
export const DEFAULT_MAX_PATTERN_LENGTH = 1024;
export const DEFAULT_MAX_RECORDS_PER_MESSAGE = 4096;
export const DEFAULT_RECEIVE_HIGH_WATER_MARK = 1000;
export const DEFAULT_SERVER_CLOSE_TIMEOUT = 10_000;
export const DEFAULT_PLAIN_MESSAGE_DECODING = 'utf8';
export const DEFAULT_DEDUPE_WINDOW = 100_000;
/** Producers a ROUTER socket remembers (to withdraw their credit on close); the oldest are forgotten. */
export const MAX_REMEMBERED_PRODUCERS = 10_000;

// Client defaults (documented on ZeroMqClientOptions).
export const DEFAULT_CLIENT_BIND = false;
export const DEFAULT_MAX_QUEUE_SIZE = 10_000;
export const DEFAULT_MAX_QUEUE_BYTES = 64 * 1024 * 1024;
export const DEFAULT_QUEUE_OVERFLOW = 'reject';
export const DEFAULT_SEND_TIMEOUT = 5_000;
export const DEFAULT_CONNECT_TIMEOUT = 1_000;
export const DEFAULT_IMMEDIATE = true;
export const DEFAULT_MAX_BATCH_SIZE = 256;
export const DEFAULT_MAX_BATCH_BYTES = 256 * 1024;
export const DEFAULT_SEND_HIGH_WATER_MARK = 1000;
export const DEFAULT_CLIENT_CLOSE_TIMEOUT = 5_000;
export const DEFAULT_REQUEST_TIMEOUT = 30_000;
export const DEFAULT_DELIVERY = 'at-most-once';
export const DEFAULT_ACK_TIMEOUT = 30_000;
export const DEFAULT_MAX_ATTEMPTS = 5;
export const DEFAULT_RETRY_DELAY = 200;
export const DEFAULT_MAX_RETRY_DELAY = 10_000;
/** Name of the client's PUSH socket for dead letters (`deadLetterEndpoints`). */
export const DEAD_LETTER_SOCKET_NAME = 'dead-letter';
/** Replies a server may queue per socket before it drops new ones (replies never block a handler). */
export const REPLY_QUEUE_SIZE = 10_000;

// Shared socket defaults.
export const DEFAULT_LINGER = 1_000;
export const DEFAULT_HEARTBEAT_INTERVAL = 1_000;
export const DEFAULT_HEARTBEAT_TIMEOUT = 3_000;
export const DEFAULT_RECONNECT_INTERVAL = 100;
export const DEFAULT_RECONNECT_MAX_INTERVAL = 5_000;
export const DEFAULT_LOG_INTERVAL = 5_000;

/** How long `bind()` retries a port that a just-closed socket still holds (EADDRINUSE). */
export const BIND_RETRY_DEADLINE = 2_000;

// CURVE security (documented on ZeroMqServerCurveOptions).
/** Milliseconds an `allowClients` callback may take before the client is rejected. */
export const DEFAULT_AUTH_TIMEOUT = 5_000;
/** `allowClients` callbacks that may be pending at once per server; clients beyond are rejected. */
export const MAX_PENDING_AUTHORIZATIONS = 1_000;
/** Where libzmq sends ZAP (RFC 27) requests: one handler per ZeroMQ context. */
export const ZAP_ENDPOINT = 'inproc://zeromq.zap.01';
/** Prefix of the ZAP domains this library gives its CURVE servers (one domain per server). */
export const ZAP_DOMAIN_PREFIX = 'nestjs-zeromq/';
/** Largest key file read, in bytes: a key is 40 characters, this leaves room for comments. */
export const MAX_KEY_FILE_SIZE = 4_096;
