import type * as zmq from 'zeromq';
import { receiveLoop } from './receive-loop.js';

/** A socket with `count` one-frame messages ready, each receive resolving at once (as zeromq.js does while messages wait). */
function readySocket(count: number) {
  let left = count;
  const socket = {
    closed: false,
    receiveHighWaterMark: 1000,
    maxMessageSize: 1024 * 1024,
    receive: () => {
      if (left === 0) {
        socket.closed = true;
        return Promise.reject(Object.assign(new Error('closed'), { code: 'EAGAIN' }));
      }
      left--;
      return Promise.resolve([Buffer.from(String(count - left))]);
    },
  };
  return socket as unknown as zmq.Pull & { receiveHighWaterMark: number; maxMessageSize: number };
}

describe('receiveLoop', () => {
  it('hands over waiting messages without a turn of the event loop while no answers wait', async () => {
    const events: string[] = [];
    let turns = 0;
    for await (const [frame] of receiveLoop(readySocket(3), () => false)) {
      events.push(`read ${frame.toString()}`);
      setImmediate(() => events.push(`turn ${++turns}`));
    }
    expect(events.slice(0, 3)).toEqual(['read 1', 'read 2', 'read 3']);
  });

  it('lets answers queued for the next turn leave before it hands over the next message', async () => {
    const events: string[] = [];
    let waiting = false;
    for await (const [frame] of receiveLoop(readySocket(3), () => waiting)) {
      events.push(`read ${frame.toString()}`);
      // As a send queue does: answers queued now go out on the next turn.
      waiting = true;
      setImmediate(() => {
        waiting = false;
        events.push(`sent answers to ${frame.toString()}`);
      });
    }
    await new Promise((resolve) => setImmediate(resolve));
    expect(events).toEqual(['read 1', 'sent answers to 1', 'read 2', 'sent answers to 2', 'read 3', 'sent answers to 3']);
  });
});
