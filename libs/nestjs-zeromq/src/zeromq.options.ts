import type { ZeroMqOutboxOptions } from './zeromq.outbox.options.js';
import type { ConsumerDeserializer, ConsumerSerializer, MsPattern } from '@nestjs/microservices';
import type { ProducerDeserializer, ProducerSerializer } from '@nestjs/microservices';
import type { EndpointDiscoveryOptions } from './discovery/endpoint-discovery.options.js';
import type { ZeroMqClientCurveOptions, ZeroMqServerCurveOptions } from './zeromq.curve.options.js';

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

/** A group of patterns that a server reads from a socket of its own. */
export interface ZeroMqServerRoute {
  /**
   * Name of the socket in events, `unwrap()` and `addresses`.
   * @default the route's first pattern
   */
  name?: string;
  /** Patterns (string or object, normalized as Nest does) this socket is meant for. */
  patterns: MsPattern[];
  /** Endpoints of this route's socket. */
  endpoints: ZeroMqEndpoint[];
  /**
   * Socket pair: `'dealer-router'` to answer `send()` requests (a ROUTER socket), `'push-pull'` for
   * events only (a PULL socket).
   * @default the server's `kind`
   */
  kind?: ZeroMqSocketKind;
  /**
   * Handlers that may run at once for this socket; a slow route does not hold up the others.
   * @default the server's `concurrency`
   */
  concurrency?: number;
  /**
   * At-least-once credit of this socket (`'dealer-router'` only): see the server's `credit`.
   * @default the server's `credit`, else five times this route's `concurrency`
   */
  credit?: number;
  /**
   * Bytes of received records this socket may hold (see the server's `receiveBudget`), on top of
   * the server's: a flood on another socket does not take it, and it takes nothing from theirs.
   * @default a share of the server's `receiveBudget`
   */
  receiveBudget?: number;
}

/** A group of patterns that a client sends over a socket of its own. */
export interface ZeroMqClientRoute {
  /**
   * Name of the socket in events, errors, `unwrap()` and `addresses`.
   * @default the route's first pattern
   */
  name?: string;
  /** Patterns (string or object, normalized as Nest does) sent over this socket. */
  patterns: MsPattern[];
  /** Endpoints of this route's socket(s). */
  endpoints: ZeroMqEndpoint[];
  /**
   * Socket pair: `'dealer-router'` for `send()` requests (and events), `'push-pull'` for events.
   * @default the client's `kind`
   */
  kind?: ZeroMqSocketKind;
  /**
   * Delivery guarantee of this route's emits.
   * @default the client's `delivery`
   */
  delivery?: ZeroMqDeliveryMode;
  /**
   * At-least-once: keep this route's messages in a durable outbox on disk until acked.
   * @default the client's `outbox`
   */
  outbox?: ZeroMqOutboxOptions;
  /**
   * The key of each message of this route, from its payload (a record's `setKey` wins).
   * @default the client's `key`
   */
  key?: ZeroMqKeyFunction;
  /**
   * Send only the payload frame (no pattern, no framing) so that a plain ZeroMQ PULL peer can read
   * it: Buffers go as they are, strings as UTF-8 text, anything else as JSON text. No batching.
   * On a `'pub-sub'` route the message is `[topic, payload]`, for plain SUB peers.
   * @default false
   */
  bare?: boolean;
}

export interface ZeroMqServerOptions extends ZeroMqSocketTuningOptions {
  /**
   * Endpoints of the default socket, which receives every pattern that has no route of its own.
   * May be left out when `routes` name at least one socket.
   * @default []
   */
  endpoints?: ZeroMqEndpoint[];
  /**
   * Socket pair of the default socket (and of routes that do not set their own): a PULL socket for
   * events (`'push-pull'`) or a ROUTER socket that also answers `send()` requests (`'dealer-router'`).
   * @default 'push-pull'
   */
  kind?: ZeroMqSocketKind;
  /**
   * Patterns read from sockets of their own.
   * @default []
   */
  routes?: ZeroMqServerRoute[];
  /**
   * Handlers that may run at once per socket. When reached, the server stops reading and ZeroMQ's
   * high-water mark pushes back on the producers.
   * @default 100
   */
  concurrency?: number;
  /**
   * At-least-once deliveries a producer may have unacknowledged at one `'dealer-router'` socket:
   * the credit the socket announces. Above `concurrency`, the extra deliveries wait here (read
   * ahead) while the running handlers finish, so that a fast worker always has the next ones
   * instead of waiting a round trip for them; lower keeps work off a slow worker. It also bounds
   * the messages one failure of this worker can leave handled but unacknowledged (duplicates).
   * @default five times `concurrency` (500)
   */
  credit?: number;
  /**
   * Records a socket reads ahead of its running handlers, per socket. Reading ahead keeps the
   * handlers fed while ZeroMQ brings the next batch; when this many wait, the socket stops reading
   * and ZeroMQ's high-water mark pushes back on the producers. Records read ahead are lost if the
   * process dies (at-most-once), as are those in ZeroMQ's own queue.
   * @default 1000
   */
  prefetch?: number;
  /**
   * Bytes of received records the server may hold at once: read ahead, waiting or running, counted
   * as they came over the wire. A socket reads the next message only while one of `maxMessageSize`
   * still fits (so that it holds at most this), else it stops reading until handlers finish and
   * ZeroMQ's high-water mark pushes back on the producers (a publisher drops and counts). With
   * nothing held a socket always reads, so a larger message goes through alone. Shared out evenly
   * among the sockets that set none of their own (a route's `receiveBudget`). It also sizes ZeroMQ's
   * own queue per connection (`receiveHighWaterMark`). docs/kubernetes.md sizes a container from it.
   * @default 67108864 (64 MiB)
   */
  receiveBudget?: number;
  /**
   * Largest frame in bytes a peer may send; a message with a larger frame is dropped by ZeroMQ and
   * the connection reset. ZeroMQ checks each frame, not the sum of a multipart message (see
   * docs/security.md). `-1` means no limit (and no bound in bytes on ZeroMQ's queue).
   * @default 8388608 (8 MiB)
   */
  maxMessageSize?: number;
  /**
   * Longest pattern in bytes; a record with a longer one is rejected and counted.
   * @default 1024
   */
  maxPatternLength?: number;
  /**
   * Most records one (batched) message may carry; a message with more is rejected and counted.
   * @default 4096
   */
  maxRecordsPerMessage?: number;
  /**
   * Messages ZeroMQ queues per connection, outside the JavaScript heap, before the producer's send
   * blocks (a publisher drops). Derived so that a connection's queue holds at most its socket's
   * receive budget: `receiveBudget / maxMessageSize` messages, at least 1 (1000 with no `maxMessageSize`).
   * @default the socket's receive budget / `maxMessageSize` (8)
   */
  receiveHighWaterMark?: number;
  /**
   * Milliseconds `close()` waits for running handlers before it closes the sockets anyway.
   * @default 10000
   */
  closeTimeout?: number;
  /**
   * Ids of at-least-once messages handled here that are remembered, so that a redelivery of one
   * (after a lost ack) is acked without running the handler again. Older ids are forgotten.
   * @default 100000
   */
  dedupeWindow?: number;
  /**
   * At-least-once: keep the ids of completed messages on disk too (the last `dedupeWindow` of
   * them), written before each ack, so that a worker restarted after a crash acks a redelivery
   * of a message it already handled instead of running it again. Needs the optional peer
   * dependency `lmdb`; one worker process per path.
   * @default none: completed ids are kept in memory only
   */
  ledger?: { path: string };
  /**
   * Accept single-frame messages from plain ZeroMQ producers and hand them to one pattern's
   * handler. Without it such messages are rejected and counted as malformed. On a `'pub-sub'`
   * socket a plain message is `[topic, payload]` and goes to the handler of its topic (`pattern`
   * is not used there; `decoding` is).
   * @default undefined
   */
  plainMessages?: ZeroMqPlainMessageOptions;
  /**
   * CURVE encryption and client authentication on every socket of this server (docs/security.md).
   * @default undefined (plaintext)
   */
  curve?: ZeroMqServerCurveOptions;
  /** Nest serializer for responses (used by request-response). @default IdentitySerializer */
  serializer?: ConsumerSerializer;
  /**
   * Nest deserializer applied to each incoming `{ pattern, data, metadata }` record.
   * @default IncomingRequestDeserializer
   */
  deserializer?: ConsumerDeserializer;
}

/** The key of a message (see `key`): any text, or undefined for none. */
export type ZeroMqKeyFunction = (data: unknown, pattern: string) => string | undefined;

/** What a keyed message that keeps failing at the head of its key does (see `keyedPoison`). */
export type ZeroMqKeyedPoison = 'block' | 'dead-letter';

/** What `emit()` does when a socket's queue is full. */
export type ZeroMqOverflowPolicy = 'reject' | 'drop-oldest';

export interface ZeroMqClientOptions extends ZeroMqSocketTuningOptions {
  /**
   * Endpoints of the default socket, which sends every pattern that has no route of its own.
   * May be left out when every pattern is routed.
   * @default []
   */
  endpoints?: ZeroMqEndpoint[];
  /**
   * Socket pair of the default socket (and of routes that do not set their own): PUSH for events
   * (`'push-pull'`), or DEALER for `send()` requests and events (`'dealer-router'`).
   * @default 'push-pull'
   */
  kind?: ZeroMqSocketKind;
  /**
   * Delivery guarantee of emits on the default socket (and on routes that do not set their own).
   * `'at-least-once'` implies `kind: 'dealer-router'`; emit() then completes when a worker has
   * handled the message, and errors when it is dead-lettered.
   * @default 'at-most-once'
   */
  delivery?: ZeroMqDeliveryMode;
  /**
   * At-least-once: keep accepted messages in a durable outbox on the producer's disk until a
   * worker acks them, and replay them after a restart (docs/delivery.md, "Durable outbox").
   * Needs the optional peer dependency `lmdb`. Routes can set their own.
   * @default none: messages are kept in memory
   */
  outbox?: ZeroMqOutboxOptions;
  /**
   * At-least-once: milliseconds to wait for a worker's ack before the message is sent again.
   * A lost worker connection (ZMTP heartbeats) triggers the resend sooner.
   * @default 30000
   */
  ackTimeout?: number;
  /**
   * At-least-once: deliveries of one message (first one included) before it is dead-lettered.
   * @default 5
   */
  maxAttempts?: number;
  /**
   * At-least-once: milliseconds before the first retry of a message whose handler failed; each
   * further retry waits twice as long, up to `maxRetryDelay`.
   * @default 200
   */
  retryDelay?: number;
  /**
   * At-least-once: longest wait between two retries, in milliseconds.
   * @default 10000
   */
  maxRetryDelay?: number;
  /**
   * The key of each message, from its payload and pattern: messages of one key are handled in the
   * order they were emitted, by the worker that owns the key (docs/delivery.md, "Ordered delivery
   * by key"). Return `undefined` for a message without key. A record's `setKey` wins; routes can set their own.
   * @default none: messages have no key unless their record sets one
   */
  key?: ZeroMqKeyFunction;
  /**
   * At-least-once: what happens to a keyed message that fails at the head of its key past
   * `maxAttempts` (or that a worker refuses): `'block'` keeps retrying it (at most every
   * `maxRetryDelay`) and its key's later messages wait; `'dead-letter'` dead-letters it and the
   * key moves on to its next message.
   * @default 'block'
   */
  keyedPoison?: ZeroMqKeyedPoison;
  /**
   * Milliseconds a message lives after `emit()` unless its record sets its own `ttl`: an expired
   * message is not sent (at-least-once: not sent again), is dropped by a worker that gets it late,
   * and is dead-lettered with reason `'expired'` (docs/delivery.md, "Expiry").
   * @default none: messages do not expire
   */
  ttl?: number;
  /**
   * At-least-once: also send dead letters (with `deadLetterReason`, `deadLetterAttempts` and
   * `messageId` metadata) as events over a PUSH socket to these endpoints.
   * @default []
   */
  deadLetterEndpoints?: ZeroMqEndpoint[];
  /**
   * Milliseconds a `send()` waits for the last reply before it fails with a `TIMEOUT`
   * ZeroMqRequestError; an rxjs `timeout()` on the call may cut it shorter. `0` waits forever.
   * @default 30000
   */
  requestTimeout?: number;
  /**
   * CURVE encryption on every socket of this client; the servers must use CURVE too
   * (docs/security.md).
   * @default undefined (plaintext)
   */
  curve?: ZeroMqClientCurveOptions;
  /**
   * Patterns sent over sockets of their own.
   * @default []
   */
  routes?: ZeroMqClientRoute[];
  /**
   * Emits that may wait in one socket's queue (not yet handed to ZeroMQ). Generous: `maxQueueBytes`
   * is the bound that matters; this one caps the bookkeeping of many tiny emits (about 200 bytes each).
   * @default 100000
   */
  maxQueueSize?: number;
  /**
   * Payload bytes that may wait in one socket's queue (at-least-once: not yet acknowledged), so
   * that large payloads cannot grow the producer without bound; past it an emit overflows as with
   * `maxQueueSize`. A single emit larger than this is still accepted into an empty queue.
   * @default 67108864 (64 MiB)
   */
  maxQueueBytes?: number;
  /**
   * When a queue is full: `'reject'` fails the new emit; `'drop-oldest'` fails the oldest queued
   * emit and accepts the new one. Either way the failure is logged and counted.
   * @default 'reject'
   */
  overflow?: ZeroMqOverflowPolicy;
  /**
   * Milliseconds `connect()` waits for each socket that connects to its endpoints to have a peer
   * connected (the socket monitor's `connect` event; inproc counts at once). It then resolves
   * anyway, with `status` `disconnected`: ZeroMQ keeps reconnecting and emits wait for a peer
   * up to `sendTimeout`. Sockets that bind are not waited for. `0`: do not wait.
   * @default 1000
   */
  connectTimeout?: number;
  /**
   * Milliseconds an emit may wait for a peer to accept it (no peer connected, or every peer at
   * its high-water mark) before it fails with an error naming the pattern and the socket.
   * @default 5000
   */
  sendTimeout?: number;
  /**
   * On connecting sockets, queue messages only to completed connections so that nothing is
   * parked for an endpoint that is down. DEALER sockets (kind `'dealer-router'`) never use it:
   * with it ZeroMQ drops, unread, the replies and acks a server sent just before disconnecting (a
   * graceful drain); credit keeps deliveries off a worker that is down, and requests go to
   * connected servers first (with every server down, a request waits for one up to its timeout).
   * @default true
   */
  immediate?: boolean;
  /**
   * Most emits packed into one ZeroMQ message when several are queued; `1` turns batching off.
   * A lone emit is sent at once: batching never adds delay.
   * @default 256
   */
  maxBatchSize?: number;
  /**
   * Most payload bytes packed into one batched message (a larger single emit is sent alone).
   * @default 262144 (256 KiB)
   */
  maxBatchBytes?: number;
  /**
   * Messages ZeroMQ queues per connection before sends block (a `pub-sub` publisher drops past it
   * instead). A message is a batch of up to `maxBatchBytes`, so the default bounds what a connection
   * whose peer stopped reading holds (outside the JavaScript heap) by `maxQueueBytes`; a publisher,
   * which would only drop more of a burst with less, keeps ZeroMQ's 1000.
   * @default maxQueueBytes / maxBatchBytes (256 with the defaults, at least 16); 1000 for 'pub-sub'
   */
  sendHighWaterMark?: number;
  /**
   * Largest frame in bytes a server may send back (`'dealer-router'` sockets: replies, acks,
   * credit); a reply with a larger frame is dropped by ZeroMQ and the connection reset, and its
   * request fails at `requestTimeout`. Keep it at least the servers' largest reply. `-1`: no limit.
   * @default 8388608 (8 MiB)
   */
  maxMessageSize?: number;
  /**
   * Bytes of replies ZeroMQ may queue per connection (`'dealer-router'` sockets) while this process
   * is too busy to read them: the receive high-water mark is `receiveBudget / maxMessageSize`
   * messages (at least 1). Replies are handed to their subscribers as they are read, so the library
   * holds no more of them. Past it the server's ROUTER queues, then drops, the replies (see docs/delivery.md).
   * @default 67108864 (64 MiB)
   */
  receiveBudget?: number;
  /**
   * Milliseconds `close()` waits for queued emits to be sent; those left are failed and counted.
   * @default 5000
   */
  closeTimeout?: number;
  /** Nest serializer applied to each outgoing packet. @default IdentitySerializer */
  serializer?: ProducerSerializer;
  /** Nest deserializer for responses (used by request-response). @default IncomingResponseDeserializer */
  deserializer?: ProducerDeserializer;
}
