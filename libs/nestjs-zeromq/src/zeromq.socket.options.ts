import type { EndpointDiscoveryOptions } from './discovery/endpoint-discovery.options.js';

/**
 * Where a socket binds or connects.
 * A plain string is an address with the side's default `bind`.
 */
export type ZeroMqEndpoint = string | ZeroMqEndpointOptions;

export interface ZeroMqEndpointOptions {
  /**
   * ZeroMQ address: `tcp://127.0.0.1:5557`, `tcp://*:5557`, `ipc:///run/app/orders.sock` or
   * `inproc://orders`. A bound tcp address may use port `*` for an OS-chosen port; read the
   * actual address from `addresses` after start. A connecting socket may also name its peers
   * through DNS: `tcp+dns://host:port` (every A/AAAA record of host) or
   * `tcp+srv://_service._tcp.name` (every SRV record), followed as they change (`discovery`).
   */
  address: string;
  /**
   * Bind (listen) on the address instead of connecting to it. Either side may bind; the other
   * side connects.
   * @default true on a ZeroMqServer, false on a ZeroMqClient
   */
  bind?: boolean;
}

/** ZMTP heartbeats: detect a frozen or vanished peer without waiting for TCP to notice. */
export interface ZeroMqHeartbeatOptions {
  /**
   * Milliseconds between heartbeat pings on every connection.
   * @default 1000
   */
  interval?: number;
  /**
   * Milliseconds without any traffic after which a connection is dropped (a `disconnect` event).
   * @default 3000
   */
  timeout?: number;
}

/**
 * The ZeroMQ socket pair a socket of this library uses:
 * - `'push-pull'`: events (`emit()` → `@EventPattern`); also talks to plain PUSH/PULL peers.
 * - `'dealer-router'`: requests (`send()` → `@MessagePattern`, replies streamed back) and events;
 *   the client opens one DEALER per endpoint and sends each request to the connected server with
 *   the fewest requests pending, so it can tell which requests a lost server took with it.
 * - `'pub-sub'`: broadcast (`emit()` → the `@EventPattern` handlers of every subscribed server);
 *   the client's socket is an XPUB (it counts subscribers: `waitForSubscribers()`), the server's a
 *   SUB subscribed to its handlers' patterns. At most once; a slow subscriber loses what is past
 *   its high-water mark (docs/delivery.md).
 */
export type ZeroMqSocketKind = 'push-pull' | 'dealer-router' | 'pub-sub';

/**
 * What an emit() is promised:
 * - `'at-most-once'`: sent once; lost if the worker holding it dies (PUSH/PULL or DEALER/ROUTER).
 * - `'at-least-once'`: kept by the client until a worker acks it after its handler succeeded;
 *   sent again on failure, lost ack or lost worker; dead-lettered after `maxAttempts`. Needs
 *   `kind: 'dealer-router'` on both sides and the client connecting to each worker endpoint.
 */
export type ZeroMqDeliveryMode = 'at-most-once' | 'at-least-once';

/** Payload decoding for single-frame messages from plain ZeroMQ peers. */
export type ZeroMqPlainDecoding = 'utf8' | 'json' | 'buffer';

/** Lets a server accept single-frame messages from peers that do not speak this library's framing. */
export interface ZeroMqPlainMessageOptions {
  /** Pattern whose handler receives every plain (single-frame) message. */
  pattern: string;
  /**
   * How the frame becomes the handler's payload: a UTF-8 string, parsed JSON, or the raw Buffer.
   * @default 'utf8'
   */
  decoding?: ZeroMqPlainDecoding;
}

/** Options every socket of a server or client shares. */
export interface ZeroMqSocketTuningOptions {
  /**
   * Milliseconds a closed socket keeps trying to deliver queued outgoing messages. Bounded so that
   * a process never hangs on exit; `-1` (wait forever) is refused.
   * @default 1000
   */
  linger?: number;
  /**
   * ZMTP heartbeats on every connection, or `false` to turn them off.
   * @default { interval: 1000, timeout: 3000 }
   */
  heartbeat?: ZeroMqHeartbeatOptions | false;
  /**
   * Milliseconds before a connecting socket retries a lost or refused connection.
   * @default 100
   */
  reconnectInterval?: number;
  /**
   * Upper bound of the exponential reconnect back-off, in milliseconds.
   * @default 5000
   */
  reconnectMaxInterval?: number;
  /**
   * Minimum milliseconds between two log lines of the same kind of problem (bad frames, unknown
   * patterns, failed sends); the lines in between are counted and summarized.
   * @default 5000
   */
  logInterval?: number;
  /**
   * How `tcp+dns://` and `tcp+srv://` endpoints are resolved and followed: DNS servers,
   * re-resolution interval and jitter, what an empty answer means (docs/kubernetes.md).
   * @default the system's resolver, every 5000 ms give or take 20%
   */
  discovery?: ZeroMqDiscoveryOptions;
}

/** DNS discovery settings of a server or client (`tcp+dns://`, `tcp+srv://` endpoints). */
export type ZeroMqDiscoveryOptions = EndpointDiscoveryOptions;
