import type { BenchMessage } from '../message.js';

/** Where the consumer hands each message it received. */
export type MessageSink = (message: BenchMessage) => void;

/** The receiving side of a row, running in the consumer process. */
export interface BenchConsumer {
  /** What the producer connects to (an address, or the broker's URL). */
  readonly endpoint: string;
  /**
   * For rows without a producer process: delivers a message straight into the dispatch path.
   * Resolves when the handler has run.
   */
  readonly inject?: (message: BenchMessage) => Promise<unknown>;
  close(): Promise<void>;
}

/** The sending side of a row, running in the producer process. */
export interface BenchProducer {
  /** Sends one message; resolves when the transport has taken it. */
  send(message: BenchMessage): Promise<unknown>;
  /**
   * Sends several messages in one call (the Node-limit row: multipart sends); resolves when the
   * transport has taken them all. A producer that has it is driven by it, `window` messages per
   * call, one call awaited at a time in a tight loop: the harness adds no promise per message.
   */
  sendBatch?(messages: BenchMessage[]): Promise<unknown>;
  /**
   * Called after every `window` sends: waits while the transport's own buffers are over their
   * mark, for transports whose send resolves before the bytes leave the process.
   */
  relieve?(): Promise<void>;
  close(): Promise<void>;
}

/** Who a producer sends to. */
export interface ProducerPeers {
  /** Every consumer's endpoint: one for point-to-point rows, one per subscriber for broadcast rows. */
  endpoints: string[];
  /**
   * Subscribers of a broadcast row (1 otherwise). A broadcast producer should resolve
   * `startProducer` only once that many subscriptions have reached it (ZeroMQ drops what is
   * published before); the bench's warm-up sends end markers until every subscriber reported,
   * so that a transport that cannot tell still starts measuring with every subscriber in place.
   */
  subscribers: number;
}

/** How one benchmark row moves messages. */
export interface TransportDriver {
  /**
   * Sends that may be outstanding at once; 1 awaits every send before the next. For a producer
   * with `sendBatch`: the messages per call.
   */
  readonly window: number;
  /**
   * How the row runs burst phases: `'fire'` fires each burst without awaiting (the default);
   * `'window'` sends as in windowed phases, for rows where a burst has no meaning of its own.
   * @default 'fire'
   */
  readonly burst?: 'fire' | 'window';
  /** `service` is the broker URL for rows that need one (Redis, NATS). */
  startConsumer(sink: MessageSink, service?: string): Promise<BenchConsumer>;
  /**
   * Absent for in-process rows: the consumer's `inject` is the producer then. `endpoint` is the
   * first of `peers.endpoints` (a broker's URL for rows that need one).
   */
  startProducer?(endpoint: string, peers: ProducerPeers): Promise<BenchProducer>;
}
