import type { ZeroMqClientAuthorizer, ZeroMqCurveKey } from '../zeromq.curve.options.js';

/**
 * CURVE on a broadcast proxy. The frontend is the CURVE server for publishers (`allowPublishers`
 * says who may publish). On the backend, either the proxy is the CURVE server too and
 * `allowSubscribers` says who may read (subscribers set `curve.publisherPublicKey` to the proxy's
 * public key), or the subscribers are CURVE servers that share one key pair and the proxy connects
 * to them as a client (`subscriberPublicKey`). Give exactly one of the two.
 */
export interface ZeroMqBroadcastProxyCurveOptions {
  /**
   * The proxy's secret key. Publishers set its public key as `curve.serverPublicKey`; subscribers
   * set it as `curve.publisherPublicKey` (with `allowSubscribers`) or list it in `curve.allowClients`
   * (with `subscriberPublicKey`).
   */
  secretKey: ZeroMqCurveKey;
  /**
   * Publishers allowed to connect to the frontend: their public keys, or a callback. Without it,
   * any publisher that knows the proxy's public key gets in.
   * @default undefined (every CURVE publisher with the proxy's public key)
   */
  allowPublishers?: ZeroMqCurveKey[] | ZeroMqClientAuthorizer;
  /**
   * Subscribers allowed to connect to the backend: their public keys, or a callback. An unlisted
   * subscriber completes no handshake and gets nothing; it is logged and counted
   * (`rejectedSubscribers`). Give this or `subscriberPublicKey`.
   * @default undefined (use `subscriberPublicKey`)
   */
  allowSubscribers?: ZeroMqCurveKey[] | ZeroMqClientAuthorizer;
  /**
   * The subscribers' shared public key (their `curve.secretKey`'s public half): the backend completes
   * no handshake, and so sends nothing, to a subscriber that does not hold the matching secret key.
   * Give this or `allowSubscribers`.
   * @default undefined (use `allowSubscribers`)
   */
  subscriberPublicKey?: ZeroMqCurveKey;
}

/**
 * A forwarder for many-to-many broadcast: publishers connect to its frontend, subscribers to its
 * backend; every message goes to each subscriber whose subscription matches, and subscriptions
 * travel back to the publishers (so that their `waitForSubscribers()` works through it).
 */
export interface ZeroMqBroadcastProxyOptions {
  /** Addresses the frontend (an XSUB socket) binds, for publishers (`kind: 'pub-sub'` clients) to connect to. */
  frontend: string[];
  /** Addresses the backend (an XPUB socket) binds, for subscribers (`kind: 'pub-sub'` servers) to connect to. */
  backend: string[];
  /**
   * CURVE on both sides.
   * @default undefined (plaintext)
   */
  curve?: ZeroMqBroadcastProxyCurveOptions;
  /**
   * Largest frame in bytes a publisher may send; a message with a larger frame is dropped by ZeroMQ
   * and that publisher's connection reset. `-1` means no limit (and no bound in bytes on the queues).
   * @default 8388608 (8 MiB)
   */
  maxMessageSize?: number;
  /**
   * Bytes the proxy may queue per connection (per subscriber on the backend, per publisher on the
   * frontend), outside the JavaScript heap: it sets `highWaterMark` to `connectionBudget /
   * maxMessageSize` messages. A proxy holds up to this much per connection: size its container
   * from it and the number of subscribers (docs/kubernetes.md).
   * @default 67108864 (64 MiB)
   */
  connectionBudget?: number;
  /**
   * Messages queued per subscriber on the backend (and per publisher on the frontend) before
   * the proxy drops more for that subscriber: a slow subscriber never slows the others.
   * @default connectionBudget / maxMessageSize (8), at least 1; 1000 with no maxMessageSize
   */
  highWaterMark?: number;
  /**
   * Milliseconds the sockets keep trying to deliver queued messages after `close()`.
   * @default 1000
   */
  linger?: number;
}
