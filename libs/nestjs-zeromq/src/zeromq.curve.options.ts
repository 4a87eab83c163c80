/*
 * CURVE options of a ZeroMqServer and a ZeroMqClient: keys, allow-lists, and the roles of broadcast sockets.
 */

/**
 * A CURVE key: the 40-character Z85 text that `npx nestjs-zeromq keygen` writes, or a file that
 * holds it (`{ file: '/run/secrets/worker.key' }`). A secret key file must not be readable by group
 * or others (`chmod 600`); lines starting with `#` are ignored.
 */
export type ZeroMqCurveKey = string | { file: string };

/** A client asking to connect to a CURVE server, as an `allowClients` callback sees it. */
export interface ZeroMqCurveClient {
  /** The client's long-term public key, Z85. */
  publicKey: string;
  /** The client's IP address, as ZeroMQ reports it. */
  address: string;
}

/** Decides whether a client may connect; only `true` (or a promise of `true`) lets it in. */
export type ZeroMqClientAuthorizer = (client: ZeroMqCurveClient) => boolean | Promise<boolean>;

/** CURVE on a ZeroMqServer: its key pair, and which clients may connect. */
export interface ZeroMqServerCurveOptions {
  /** The server's secret key. Clients need the matching public key as `serverPublicKey`. */
  secretKey: ZeroMqCurveKey;
  /**
   * The server's public key, checked against `secretKey` to catch a mixed-up key pair.
   * @default derived from `secretKey`
   */
  publicKey?: ZeroMqCurveKey;
  /**
   * Clients allowed to connect: their public keys, or a callback that decides per connection.
   * A rejected client never gets a message in or out; it is logged, counted (`unauthorized` in
   * `getMetrics()`) and reported through `on('unauthorized')`. Without it, any client that knows
   * the server's public key gets in.
   * @default undefined (every CURVE client with the server's public key)
   */
  allowClients?: ZeroMqCurveKey[] | ZeroMqClientAuthorizer;
  /**
   * Milliseconds an `allowClients` callback may take; a client whose callback has not answered by
   * then is rejected.
   * @default 5000
   */
  authTimeout?: number;
  /**
   * For `'pub-sub'` sockets: the publisher's public key (a ZeroMqClient's, or a proxy's). With it,
   * those sockets are CURVE clients of a publisher that holds the matching secret key, and the
   * publisher's `curve.allowSubscribers` lists this server's public key: the publisher decides who
   * may read its broadcasts. Without it, `'pub-sub'` sockets are CURVE servers like the others and
   * `allowClients` lists the publishers (docs/topologies.md, "CURVE on broadcasts").
   * @default undefined ('pub-sub' sockets are CURVE servers)
   */
  publisherPublicKey?: ZeroMqCurveKey;
}

/** CURVE on a ZeroMqClient: its key pair and the public key of the servers it talks to. */
export interface ZeroMqClientCurveOptions {
  /** The client's secret key. */
  secretKey: ZeroMqCurveKey;
  /**
   * The client's public key (what servers list in `allowClients`), checked against `secretKey`.
   * @default derived from `secretKey`
   */
  publicKey?: ZeroMqCurveKey;
  /**
   * The servers' public key: the handshake fails with any server that does not hold its secret key.
   * Needed by every socket that is not a `'pub-sub'` socket with `allowSubscribers`.
   * @default undefined (only valid when every socket is a 'pub-sub' socket and allowSubscribers is set)
   */
  serverPublicKey?: ZeroMqCurveKey;
  /**
   * Subscribers allowed to read this client's `'pub-sub'` sockets: their public keys, or a callback
   * that decides per connection. With it, the `'pub-sub'` sockets are CURVE servers (subscribers set
   * `curve.publisherPublicKey` to this client's public key); an unlisted subscriber completes no
   * handshake and gets nothing, and is logged, counted (`unauthorized` in `getMetrics()`) and
   * reported through `on('unauthorized')`.
   * @default undefined ('pub-sub' sockets are CURVE clients of serverPublicKey)
   */
  allowSubscribers?: ZeroMqCurveKey[] | ZeroMqClientAuthorizer;
  /**
   * Milliseconds an `allowSubscribers` callback may take; a subscriber whose callback has not
   * answered by then is rejected.
   * @default 5000
   */
  authTimeout?: number;
}
