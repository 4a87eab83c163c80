/**
 * Identifies this transport in hybrid applications:
 * `@EventPattern('orders.created', ZEROMQ_TRANSPORT)` binds a handler to a `ZeroMqServer` only.
 */
export const ZEROMQ_TRANSPORT = Symbol('ZEROMQ_TRANSPORT');

/** The error a request for an unknown pattern gets: the wording of Nest's built-in transports. */
export const NO_MESSAGE_HANDLER = 'There is no matching message handler defined in the remote service.';
/** The log line of an event nobody handles: the wording of Nest's built-in transports. */
export const NO_EVENT_HANDLER = 'There is no matching event handler defined in the remote service.';

/** Name of the socket made from the top-level `endpoints` option (routes use their own `name`). */
export const DEFAULT_SOCKET_NAME = 'default';

/**
 * Producer connections that said hello a ROUTER socket remembers: it runs deliveries only from these,
 * and withdraws their credit on close. The oldest are forgotten (their producers get 'h' and greet again).
 */
export const MAX_REMEMBERED_PRODUCERS = 10_000;

/** Name of the client's PUSH socket for dead letters (`deadLetterEndpoints`). */
export const DEAD_LETTER_SOCKET_NAME = 'dead-letter';
/** Replies a server may queue per socket before it drops new ones (replies never block a handler). */
export const REPLY_QUEUE_SIZE = 10_000;

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
