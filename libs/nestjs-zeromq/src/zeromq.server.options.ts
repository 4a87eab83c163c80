import type { ConsumerDeserializer, ConsumerSerializer, MsPattern } from '@nestjs/microservices';
import type { ZeroMqServerCurveOptions } from './zeromq.curve.options.js';
import type { ZeroMqEndpoint, ZeroMqPlainMessageOptions, ZeroMqSocketKind, ZeroMqSocketTuningOptions } from './zeromq.socket.options.js';

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
