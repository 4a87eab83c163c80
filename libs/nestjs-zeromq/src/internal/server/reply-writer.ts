import type * as zmq from 'zeromq';
import { DEFAULT_MAX_QUEUE_BYTES, REPLY_QUEUE_SIZE } from '../../constants.js';
import { SendQueue } from '../sockets/send-queue.js';
import { encodeCredit, encodeRepliesMessage, type EncodedReply } from '../protocol/wire.js';

/** A reply (or ack), or a credit announcement, for one peer. */
type OutgoingReply = {
  /** ROUTER routing id of the client's DEALER. */
  peer: Buffer;
} & ({ reply: EncodedReply; window?: undefined } | { window: number; reply?: undefined });

/**
 * Sends a ROUTER socket's replies, acks and credits through one serialized writer, packing
 * consecutive replies to the same peer into one message. A ROUTER drops replies to a peer that has gone (it is not
 * `mandatory`), so replying never blocks a handler.
 */
export class ReplyWriter {
  private readonly queue: SendQueue<OutgoingReply>;

  constructor(socket: zmq.Router, socketName: string, limits: { maxBatchSize: number; maxBatchBytes: number }) {
    this.queue = new SendQueue<OutgoingReply>({
      maxQueueSize: REPLY_QUEUE_SIZE,
      maxQueueBytes: DEFAULT_MAX_QUEUE_BYTES,
      overflow: 'reject',
      maxBatchSize: limits.maxBatchSize,
      maxBatchBytes: limits.maxBatchBytes,
      sendTimeout: 0,
      sizeOf: (item) => item.reply?.size ?? 8,
      // A credit travels alone; replies to one peer share messages.
      batchKey: (item) => (item.reply === undefined ? 'C' : 'R') + item.peer.toString('latin1'),
      toError: (item, code, detail, cause) =>
        new Error(
          `Cannot send ${item.reply ? `reply ${item.reply.id}` : 'credit'} on socket "${socketName}" (${code}): ${detail}`,
          { cause },
        ),
      transmit: (batch) =>
        socket.send(
          batch[0].reply === undefined
            ? encodeCredit([batch[0].peer], batch[0].window)
            : encodeRepliesMessage([batch[0].peer], batch.map((item) => item.reply!)),
        ),
    });
  }

  send(peer: Buffer, reply: EncodedReply): Promise<void> {
    return this.queue.enqueue({ peer, reply });
  }

  /** Tells a producer how many unacknowledged deliveries it may have at this server. */
  sendCredit(peer: Buffer, window: number): Promise<void> {
    return this.queue.enqueue({ peer, window });
  }

  /** Sends what is queued, at most `timeout` ms; resolves with the number of replies not sent. */
  drain(timeout: number): Promise<number> {
    return this.queue.drain(timeout);
  }
}
