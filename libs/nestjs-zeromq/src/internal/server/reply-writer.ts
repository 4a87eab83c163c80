import type * as zmq from 'zeromq';
import { REPLY_QUEUE_SIZE } from '../../constants.js';
import { CLIENT_DEFAULTS } from '../options/defaults.js';
import { SendQueue, type Settle } from '../sockets/send-queue.js';
import {
  encodeCredit,
  fragmentFields,
  FragmentWriter,
  HEADERS,
  joinFragments,
  PACKED_HEADERS,
  recordFields,
  type EncodedReply,
  type Fragment,
} from '../protocol/wire.js';

/** A packed reply (or ack), or a credit announcement, for one peer. */
type OutgoingReply = {
  /** ROUTER routing id of the client's DEALER. */
  peer: Buffer;
  /** The peer as a batch key. */
  key: string;
  id: string;
} & ({ fragment: Fragment; window?: undefined } | { window: number; fragment?: undefined });

/**
 * Sends a ROUTER socket's replies, acks and credits through one serialized writer, packing
 * consecutive replies to the same peer into one message. A ROUTER drops replies to a peer that
 * has gone (it is not `mandatory`), so replying never blocks a handler.
 */
export class ReplyWriter {
  private readonly queue: SendQueue<OutgoingReply>;
  private readonly writer = new FragmentWriter();
  private lastPeer: Buffer | undefined;
  private lastKey = '';

  constructor(socket: zmq.Router, socketName: string) {
    this.queue = new SendQueue<OutgoingReply>({
      maxQueueSize: REPLY_QUEUE_SIZE,
      maxQueueBytes: CLIENT_DEFAULTS.maxQueueBytes,
      overflow: 'reject',
      maxBatchSize: CLIENT_DEFAULTS.maxBatchSize,
      maxBatchBytes: CLIENT_DEFAULTS.maxBatchBytes,
      sendTimeout: 0,
      sizeOf: (item) => (item.fragment === undefined ? 8 : item.fragment.end - item.fragment.start),
      // A credit travels alone (every one of them: the last one sent is the window that holds);
      // replies to one peer share messages.
      batchKey: (item) => (item.fragment === undefined ? item : item.key),
      toError: (item, code, detail, cause) =>
        new Error(`Cannot send ${item.fragment ? `reply ${item.id}` : 'credit'} on socket "${socketName}" (${code}): ${detail}`, { cause }),
      transmit: (batch) =>
        socket.send(
          batch[0].fragment === undefined
            ? encodeCredit([batch[0].peer], batch[0].window)
            : batch.length === 1
              ? [batch[0].peer, HEADERS.replies, ...fragmentFields(batch[0].fragment)]
              : [batch[0].peer, PACKED_HEADERS.replies, joinFragments(batch.map((item) => item.fragment!))],
        ),
    });
  }

  /** Replies, acks and credits queued for the next send. */
  get waiting(): number {
    return this.queue.length;
  }

  /** Queues a reply (or ack); resolves once ZeroMQ took it. */
  send(peer: Buffer, reply: EncodedReply): Promise<void> {
    return new Promise((resolve, reject) => this.push(peer, reply, { resolve, reject }));
  }

  /** Queues a reply (or ack) and tells `done` how its send ended: the promise-free form of `send`. */
  push(peer: Buffer, reply: EncodedReply, done: Settle): void {
    // The id goes back as the bytes the peer sent (the decoder read them as latin1).
    const fragment = this.writer.write(recordFields.reply(reply), 1);
    this.queue.push({ peer, key: this.keyOf(peer), id: reply.id, fragment }, done);
  }

  /** The peer as a batch key. The acks of one received batch share its routing-id Buffer: one string for all of them. */
  private keyOf(peer: Buffer): string {
    if (peer !== this.lastPeer) {
      this.lastPeer = peer;
      this.lastKey = peer.toString('latin1');
    }
    return this.lastKey;
  }

  /** Tells a producer how many unacknowledged deliveries it may have at this server. */
  sendCredit(peer: Buffer, window: number): Promise<void> {
    return this.queue.enqueue({ peer, key: this.keyOf(peer), id: '', window });
  }

  /** Sends what is queued, at most `timeout` ms; resolves with the number of replies not sent. */
  drain(timeout: number): Promise<number> {
    return this.queue.drain(timeout);
  }
}
