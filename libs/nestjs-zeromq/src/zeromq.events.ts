import type { ZeroMqContext } from './zeromq.context.js';

/**
 * Status of a ZeroMqServer or ZeroMqClient, read from `status`.
 * @publicApi
 */
export enum ZeroMqStatus {
  /** Sockets are being opened (bound or connected). */
  CONNECTING = 'connecting',
  /**
   * Sockets are open and at least one socket has a live connection: a peer it accepted, or an
   * endpoint it connected to (the socket monitor's `accept` / `connect`; an inproc endpoint counts
   * from the start). For a PUSH socket that connects, this means a TCP (or ipc) connection to at
   * least one of its endpoints is up; its ZMTP handshake (and CURVE's) may still be under way, and
   * other endpoints may be down. Counts follow the monitor's events, which arrive when the event
   * loop polls for I/O.
   */
  CONNECTED = 'connected',
  /** Sockets are open but no peer is connected (all peers left, or none came yet). */
  DISCONNECTED = 'disconnected',
  /** `close()` was called; nothing is sent or received any more. */
  CLOSED = 'closed',
}

/** Socket-level events, from ZeroMQ's socket monitor. */
export enum ZeroMqSocketEventType {
  BIND = 'bind',
  ACCEPT = 'accept',
  CONNECT = 'connect',
  CONNECT_RETRY = 'connect:retry',
  HANDSHAKE = 'handshake',
  HANDSHAKE_ERROR = 'handshake:error',
  DISCONNECT = 'disconnect',
  CLOSE = 'close',
}

/** One socket monitor event, as passed to `on(type, listener)`. */
export interface ZeroMqSocketEvent {
  type: ZeroMqSocketEventType;
  /** Name of the socket (`'default'` or the route's name). */
  socket: string;
  /** The endpoint the event concerns, as ZeroMQ reports it. */
  address: string;
  /** For `handshake:error`: what went wrong (protocol or authentication). */
  error?: Error;
  /** For `handshake:error`: the likely cause in words, naming the option to check (a wrong `curve.serverPublicKey`, a plaintext peer...). */
  reason?: string;
}

/** A client a CURVE server turned away (its key is not allowed), as `on('unauthorized')` reports it. */
export interface ZeroMqUnauthorizedClient {
  /** The client's public key, Z85. */
  publicKey: string;
  /** The client's IP address. */
  address: string;
  /** Why: not in `curve.allowClients`, refused by the callback, callback failed or timed out. */
  reason: string;
}

type SocketEventListener = (event: ZeroMqSocketEvent) => void;

/** An at-least-once message given up on: retried `maxAttempts` times, or refused for good. */
export interface ZeroMqDeadLetter {
  pattern: string;
  messageId: string;
  /** Deliveries made (on the server: the number of the one that failed last). */
  attempts: number;
  /** Why: the handler's last error, "no handler", "undecodable", or "not acknowledged". */
  reason: string;
  /**
   * On the client side, the payload as it was sent, decoded from the message's bytes (JSON as JSON,
   * bytes as a Buffer), not the emitted object itself; absent on the server (it may not have been able to decode it).
   */
  data?: unknown;
}

/**
 * Events of a ZeroMqServer, for `server.on(event, listener)`.
 * @publicApi
 */
export type ZeroMqServerEvents = {
  [K in ZeroMqSocketEventType as `${K}`]: SocketEventListener;
} & {
  /** A transport-level problem (bad frames, failed read); never a handler's own error. */
  error: (error: Error) => void;
  /** A client rejected by `curve.allowClients`; it is also counted (`unauthorized`) and logged. */
  unauthorized: (client: ZeroMqUnauthorizedClient) => void;
  /** An at-least-once delivery failed its last attempt here, or was refused (unknown pattern, undecodable). */
  'dead-letter': (letter: ZeroMqDeadLetter) => void;
  /**
   * A handler threw, rejected or errored (the error as Nest's exception filter left it), with its
   * context; called before the processing end hook, so that instrumentation can mark the outcome.
   */
  'handler-error': (error: unknown, context: ZeroMqContext) => void;
  /**
   * A handler (for a request: its response stream) ended, after `durationMs` milliseconds. Handlers
   * are timed only while something listens to this event; it is how the Prometheus metrics time
   * them, without Nest's processing hooks.
   */
  'handler-end': (context: ZeroMqContext, durationMs: number, outcome: ZeroMqHandlerOutcome) => void;
};

/** How a handler ended, as `on('handler-end')` reports it. */
export type ZeroMqHandlerOutcome = 'success' | 'error';

/** A subscriber subscribed to or left a prefix of a `'pub-sub'` socket, as `on('subscription')` reports it. */
export interface ZeroMqSubscriptionEvent {
  /** Name of the client's socket. */
  socket: string;
  /** The subscribed prefix (a subscriber's pattern, or what precedes its first wildcard). */
  prefix: string;
  /** True for a subscription, false when a subscriber dropped it (or went away). */
  subscribed: boolean;
  /** Subscribers holding the prefix now. */
  count: number;
}

/**
 * Events of a ZeroMqClient, for `client.on(event, listener)`.
 * @publicApi
 */
export type ZeroMqClientEvents = {
  [K in ZeroMqSocketEventType as `${K}`]: SocketEventListener;
} & {
  /** An emit that failed (send timeout, full queue, closed client); it also rejects the emit. */
  error: (error: Error) => void;
  /** An at-least-once message given up on; its emit() rejects too. */
  'dead-letter': (letter: ZeroMqDeadLetter) => void;
  /** A `'pub-sub'` socket saw a subscriber subscribe or leave. */
  subscription: (event: ZeroMqSubscriptionEvent) => void;
  /** A subscriber rejected by `curve.allowSubscribers`; it is also counted (`unauthorized`) and logged. */
  unauthorized: (subscriber: ZeroMqUnauthorizedClient) => void;
};
