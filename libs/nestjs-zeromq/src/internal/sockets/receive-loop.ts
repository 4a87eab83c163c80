import { setImmediate as nextTurn } from 'node:timers/promises';
import type * as zmq from 'zeromq';

type Readable = zmq.Socket & { receive(): Promise<Buffer[]>; receiveHighWaterMark: number; maxMessageSize: number };

/** Bytes read between two turns of the event loop when a socket has no `maxMessageSize`. */
const UNBOUNDED_TURN_BYTES = 64 * 1024 * 1024;

/**
 * The messages of a socket until it closes, like `for await (const frames of socket)`, except that
 * a receive failing with EAGAIN on an open socket is retried instead of ending the loop: zeromq.js
 * does that now and then to the first receive of a CURVE socket whose connections go through ZAP
 * (seen under load with large batches), and the server would stop reading for good.
 *
 * It also lets the event loop turn once it has read what ZeroMQ may queue for one connection
 * (`receiveHighWaterMark` messages of `maxMessageSize`): while messages wait, zeromq.js resolves
 * each receive without one, and the memory of frames already dropped is only given back to the
 * system from a later turn (their finalizers), so a busy reader would hold every frame it read.
 *
 * And it lets the event loop turn before it hands over a message while `answersWaiting()` says
 * that answers (acks, replies, deliveries made room for by acks) wait for their send queue's next
 * turn: they leave first, so the peer works on them while this side reads on. Without it, a reader
 * with messages waiting holds every answer until it has read them all, and the two sides take
 * turns instead of working at once.
 */
export async function* receiveLoop(socket: Readable, answersWaiting?: () => boolean): AsyncGenerator<Buffer[]> {
  const turnEvery =
    socket.maxMessageSize < 0 ? UNBOUNDED_TURN_BYTES : Math.max(1, socket.receiveHighWaterMark) * Math.max(1, socket.maxMessageSize);
  let sinceTurn = 0;
  while (!socket.closed) {
    let frames: Buffer[];
    try {
      frames = await socket.receive();
    } catch (error) {
      if (socket.closed) {
        return;
      }
      if ((error as { code?: string }).code !== 'EAGAIN') {
        throw error;
      }
      // Nothing was there after all: let the event loop turn, then wait for the next message.
      await nextTurn();
      continue;
    }
    if (answersWaiting?.() === true) {
      sinceTurn = 0;
      await nextTurn();
    }
    yield frames;
    sinceTurn += messageBytes(frames);
    if (sinceTurn >= turnEvery) {
      sinceTurn = 0;
      await nextTurn();
    }
  }
}

/** A received message's size in bytes: its frames' lengths (routing frames included). */
export function messageBytes(frames: readonly Buffer[]): number {
  let bytes = 0;
  for (let i = 0; i < frames.length; i++) {
    bytes += frames[i].length;
  }
  return bytes;
}
