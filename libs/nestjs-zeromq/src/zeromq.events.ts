/**
 * Status of a ZeroMqServer or ZeroMqClient, read from `status`.
 * @publicApi
 */
export enum ZeroMqStatus {
  /** Sockets are being opened (bound or connected). */
  CONNECTING = 'connecting',
  /** Sockets are open and at least one peer is connected. */
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
}

type SocketEventListener = (event: ZeroMqSocketEvent) => void;

/**
 * Events of a ZeroMqServer, for `server.on(event, listener)`.
 * @publicApi
 */
export type ZeroMqServerEvents = {
  [K in ZeroMqSocketEventType as `${K}`]: SocketEventListener;
} & {
  /** A transport-level problem (bad frames, failed read); never a handler's own error. */
  error: (error: Error) => void;
};

/**
 * Events of a ZeroMqClient, for `client.on(event, listener)`.
 * @publicApi
 */
export type ZeroMqClientEvents = {
  [K in ZeroMqSocketEventType as `${K}`]: SocketEventListener;
} & {
  /** An emit that failed (send timeout, full queue, closed client); it also rejects the emit. */
  error: (error: Error) => void;
};
