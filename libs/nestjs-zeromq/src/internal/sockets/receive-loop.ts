import type * as zmq from 'zeromq';

type Readable = zmq.Socket & { receive(): Promise<Buffer[]> };

/**
 * The messages of a socket until it closes, like `for await (const frames of socket)`, except that
 * a receive failing with EAGAIN on an open socket is retried instead of ending the loop: zeromq.js
 * does that now and then to the first receive of a CURVE socket whose connections go through ZAP
 * (seen under load with large batches), and the server would stop reading for good.
 */
export async function* receiveLoop(socket: Readable): AsyncGenerator<Buffer[]> {
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
      await new Promise((resolve) => setImmediate(resolve));
      continue;
    }
    yield frames;
  }
}
