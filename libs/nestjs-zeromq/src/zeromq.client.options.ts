import type { MsPattern, ProducerDeserializer, ProducerSerializer } from '@nestjs/microservices';
import type { ZeroMqClientCurveOptions } from './zeromq.curve.options.js';
import type { ZeroMqOutboxOptions } from './zeromq.outbox.options.js';
import type { ZeroMqDeliveryMode, ZeroMqEndpoint, ZeroMqSocketKind, ZeroMqSocketTuningOptions } from './zeromq.socket.options.js';

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
