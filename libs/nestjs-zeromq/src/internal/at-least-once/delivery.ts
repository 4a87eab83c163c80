import type { ZeroMqDeadLetter } from '../../zeromq.events.js';
import type { EncodedRecord, Fragment } from '../protocol/wire.js';
import type { Settle } from '../sockets/send-queue.js';
import type { DeliveryStore } from './delivery-store.js';

/** A message the producer holds until a worker acks it. */
export interface Delivery {
  readonly id: string;
  /** Its place in emission order (the outbox's key when it has one). */
  readonly key: number;
  readonly pattern: string;
  /**
   * The delivery record as the next attempt sends it, packed once when the message is accepted
   * and again, with its attempt number, for each redelivery: the producer keeps bytes outside the
   * JavaScript heap until the ack, not the record's strings, which would outlive young-generation
   * collections and be copied into the old generation.
   */
  packed: Fragment;
  /** The record's size in bytes, for `maxQueueBytes`. */
  readonly size: number;
  /** Deliveries made so far (the one in flight included). */
  attempt: number;
  /**
   * Read back from the outbox after a restart: `packed` already carries the attempt number it was
   * last sent as, and the replay goes out as that attempt again (a first delivery cut short by
   * the crash is not counted twice).
   */
  replayed?: boolean;
  /** The message's key: at most one message per key is in flight, on the worker that owns the key. */
  readonly orderKey?: string;
  /** When it expires (milliseconds since the epoch, the producer's clock); it is then not sent again. */
  readonly expiresAt?: number;
  /** It waits behind the message that heads its key (KeyGate). */
  behindKey?: boolean;
  /** It heads its key and failed past `maxAttempts` with `keyedPoison: 'block'`: it blocks its key (reported once). */
  blocking?: boolean;
  /**
   * Acked by an earlier attempt while a repeat of it (sent after that attempt's worker dropped)
   * still runs: its emit has resolved, it is not sent again, and its key waits for the repeat's
   * answer (or loss, or ack timeout) so that the key's next message cannot overtake the repeat.
   */
  acked?: boolean;
  /** The link it is in flight on, if any. */
  link: string | undefined;
  /** When it is given up on as unacknowledged (in flight only). */
  ackDeadline: number;
  /** Told once how the message ended: handled (or, `resolveOn: 'stored'`, stored), or why it failed. */
  readonly done: Settle;
}

/** One worker connection as the tracker sees it. */
export interface DeliveryLink {
  readonly name: string;
  /** The hash of its name, its seed in rendezvous hashing. */
  readonly seed: number;
  /** Deliveries the worker said it takes at once (0 until it says). */
  window: number;
  /** Deliveries in flight on it, those that timed out there included (see `late`). */
  unacked: number;
  /**
   * Ids of deliveries whose ack did not come in time: each still holds a unit of the link's
   * credit until its worker answers it or the connection drops, so a stalled worker is sent
   * nothing new while others take its work.
   */
  late?: Set<string>;
  /** When its connection last dropped: what was sent before will never be answered on it. */
  lostAt?: number;
  /** Its worker left DNS: it gets no more deliveries, whatever credit it announces. */
  retired?: boolean;
}

export interface DeliveryTrackerOptions {
  maxQueueSize: number;
  /** Most payload bytes outstanding; a message that fits nothing else is still taken when none is. */
  maxQueueBytes: number;
  ackTimeout: number;
  maxAttempts: number;
  retryDelay: number;
  maxRetryDelay: number;
  /**
   * Milliseconds between a link's loss and the resend of what it had in flight: acks its worker
   * sent before it went may still wait in the socket (the monitor reports the disconnect apart
   * from the data), and a delivery acked meanwhile is not sent twice.
   */
  lostLinkGrace: number;
  /**
   * Whether a link's socket still holds messages not read yet: after `lostLinkGrace` the resend
   * waits while it does (acks may be among them; a busy event loop reads late), `ackTimeout` at most.
   * @default nothing is ever unread
   */
  unread?: (link: string) => boolean;
  /** Packs the delivery record of message `id` as its first attempt sends it. */
  pack: (id: string, record: EncodedRecord) => Fragment;
  /**
   * Packs a delivery record again with another attempt number. A redelivery moves into the
   * current slab, so the one it was first packed into is freed once its other messages are acked.
   */
  repack: (packed: Fragment, attempt: number) => Fragment;
  /**
   * A keyed message that keeps failing at the head of its key: `'block'` retries it (at most every
   * `maxRetryDelay`) and keeps its key's later messages waiting; `'dead-letter'` dead-letters it
   * after `maxAttempts` and the key moves on.
   */
  keyedPoison: 'block' | 'dead-letter';
  /** A keyed message started blocking its key (reported once per message). */
  onKeyBlocked?: (delivery: Delivery, reason: string) => void;
  /** The durable outbox, if the route has one: messages stay there from acceptance to ack. */
  store?: DeliveryStore;
  /** With a store: whether an emit resolves once stored or once acked. */
  resolveOn?: 'stored' | 'acked';
  /** What a delivery read back from the store is: its id, the attempt it was packed as, its pattern, key and expiry. */
  readPacked: (packed: Fragment) => { id: string; attempt: number; pattern: string; orderKey?: string; expiresAt?: number };
  /**
   * Places the packed bytes of a message read back from the store where the next deliveries are
   * packed: adjacent records of one slab leave in one ZeroMQ message (a batch).
   */
  place: (packed: Uint8Array) => Fragment;
  /**
   * The data a delivery carries, decoded from its packed record for its dead letter: the emitted
   * object is not held until the ack (it would age into V8's old generation beside the bytes).
   */
  dataOf: (packed: Fragment) => unknown;
  /** Puts a delivery on a link's socket; `done` hears whether the socket took it. */
  transmit: (link: string, delivery: Delivery, done: Settle) => void;
  onDeadLetter: (letter: ZeroMqDeadLetter, delivery: Delivery) => void;
  /** A lost link's unacknowledged deliveries were requeued: each `link` says where it went now (none: it waits for credit). */
  onLinkLost?: (link: string, lost: readonly Delivery[]) => void;
  /** Asks the worker behind a link to announce its credit again (after the link lost it). */
  requestCredit: (link: string) => void;
  /** Errors the tracker rejects emits with. */
  errors: {
    queueFull: (pattern: string) => Error;
    /** The outbox is at its `maxBytes`. */
    outboxFull: (pattern: string, store: DeliveryStore) => Error;
    /** The outbox could not store the message (disk full, say). */
    notStored: (pattern: string, cause: Error) => Error;
    deadLetter: (letter: ZeroMqDeadLetter) => Error;
    closed: (pattern: string) => Error;
  };
}

export interface DeliveryCounters {
  acked: number;
  redelivered: number;
  deadLettered: number;
  /** Messages read back from the outbox that an earlier process had stored. */
  replayed: number;
  /** Messages dead-lettered because they expired (with reason `'expired'`). */
  expired: number;
}
