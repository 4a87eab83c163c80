import { randomUUID } from 'node:crypto';
import * as zmq from 'zeromq';
import { within } from '../../../test/waiting.js';
import { decodeMessage, encodeReply, HEADERS, PACKED_HEADERS } from '../protocol/wire.js';
import { ReplyWriter } from './reply-writer.js';

const REPLY_LIMITS = { maxPatternLength: 0, maxRecordsPerMessage: 1_000 };

/** A ROUTER bound to a fresh inproc address, and DEALERs that announced themselves to it. */
async function routerWithPeers(
  names: readonly string[],
  routerOptions: zmq.SocketOptions<zmq.Router> = {},
  dealerOptions: zmq.SocketOptions<zmq.Dealer> = {},
) {
  const address = `inproc://reply-writer-${randomUUID()}`;
  const router = new zmq.Router({ linger: 0, ...routerOptions });
  await router.bind(address);
  const dealers = names.map((name) => new zmq.Dealer({ linger: 0, routingId: name, ...dealerOptions }));
  const peers: Buffer[] = [];
  for (const dealer of dealers) {
    dealer.connect(address);
    await dealer.send('hi');
    const [peer] = await within(router.receive(), 5_000, 'a dealer saying hi');
    peers.push(peer);
  }
  const close = () => [router, ...dealers].forEach((socket) => socket.close());
  return { router, dealers, peers, close };
}

/** The next message a dealer receives, with its header as text. */
async function next(dealer: zmq.Dealer): Promise<{ header: string; frames: Buffer[] }> {
  const frames = await within(dealer.receive(), 5_000, 'a message from the reply writer');
  return { header: frames[0].toString('latin1'), frames };
}

/** The replies a received message carries, as [id, status, data]. */
function repliesIn(frames: Buffer[]): Array<[string, string, unknown]> {
  const message = decodeMessage(frames, REPLY_LIMITS);
  if (message.kind !== 'replies') {
    throw new Error(`not a replies message: ${message.kind}`);
  }
  expect(message.rejected).toEqual([]);
  return message.records.map(({ id, status, data }) => [id, status, data]);
}

describe('ReplyWriter', () => {
  it('sends a lone reply in the multipart form', async () => {
    const pair = await routerWithPeers(['peer-a']);
    try {
      const writer = new ReplyWriter(pair.router, 'orders');
      await writer.send(pair.peers[0], encodeReply('7', 'd', { total: 3 }));
      const { header, frames } = await next(pair.dealers[0]);
      expect(header).toBe(HEADERS.replies);
      expect(frames.map(String)).toEqual([HEADERS.replies, '7', 'd', 'j', '{"total":3}']);
      expect(await writer.drain(1_000)).toBe(0);
    } finally {
      pair.close();
    }
  });

  it('packs the replies queued together for one peer into one message, and batches per peer', async () => {
    const pair = await routerWithPeers(['peer-a', 'peer-b']);
    try {
      const writer = new ReplyWriter(pair.router, 'orders');
      const [a, b] = pair.peers;
      await Promise.all([
        writer.send(a, encodeReply('1', 'n', 'first')),
        writer.send(a, encodeReply('2', 'd', { n: 2 })),
        writer.send(a, encodeReply('3', 'e', { message: 'no' })),
        writer.send(b, encodeReply('4', 'c', undefined)),
        writer.send(a, encodeReply('5', 'a', '')),
      ]);
      const packed = await next(pair.dealers[0]);
      expect(packed.header).toBe(PACKED_HEADERS.replies);
      expect(packed.frames).toHaveLength(2);
      expect(repliesIn(packed.frames)).toEqual([
        ['1', 'n', 'first'],
        ['2', 'd', { n: 2 }],
        ['3', 'e', { message: 'no' }],
      ]);
      // A reply to another peer ends the batch: what follows for peer a is a message of its own.
      const lone = await next(pair.dealers[0]);
      expect(lone.header).toBe(HEADERS.replies);
      expect(repliesIn(lone.frames)).toEqual([['5', 'a', '']]);
      const other = await next(pair.dealers[1]);
      expect(repliesIn(other.frames)).toEqual([['4', 'c', undefined]]);
    } finally {
      pair.close();
    }
  });

  it('sends a credit as a message of its own, between the replies queued around it', async () => {
    const pair = await routerWithPeers(['peer-a']);
    try {
      const writer = new ReplyWriter(pair.router, 'orders');
      const [a] = pair.peers;
      await Promise.all([writer.send(a, encodeReply('1', 'a', '')), writer.sendCredit(a, 7), writer.send(a, encodeReply('2', 'a', ''))]);
      const dealer = pair.dealers[0];
      expect(repliesIn((await next(dealer)).frames)).toEqual([['1', 'a', '']]);
      const credit = await next(dealer);
      expect(credit.frames.map(String)).toEqual([HEADERS.credit, '7']);
      expect(decodeMessage(credit.frames, REPLY_LIMITS)).toEqual({ kind: 'credit', window: 7 });
      expect(repliesIn((await next(dealer)).frames)).toEqual([['2', 'a', '']]);
    } finally {
      pair.close();
    }
  });

  it('sends every credit queued for one peer, in order (the last one is the window that holds)', async () => {
    const pair = await routerWithPeers(['peer-a']);
    try {
      const writer = new ReplyWriter(pair.router, 'orders');
      const [a] = pair.peers;
      // A producer's hello and the server's close in one turn: "credit 100", then "credit 0".
      await Promise.all([writer.sendCredit(a, 100), writer.sendCredit(a, 0)]);
      await writer.send(a, encodeReply('end', 'a', ''));
      const received: string[][] = [];
      for (let i = 0; i < 3; i++) {
        const { frames } = await next(pair.dealers[0]);
        received.push(frames.slice(0, 2).map(String));
        if (frames[1]?.toString() === 'end') {
          break;
        }
      }
      expect(received).toEqual([
        [HEADERS.credit, '100'],
        [HEADERS.credit, '0'],
        [HEADERS.replies, 'end'],
      ]);
    } finally {
      pair.close();
    }
  });

  it('drain() fails what the socket did not take in time and counts it, the pending send included', async () => {
    // A mandatory ROUTER blocks on a peer at its high-water mark (instead of dropping): the peer never reads.
    const pair = await routerWithPeers(['slow'], { mandatory: true, sendHighWaterMark: 1 }, { receiveHighWaterMark: 1 });
    try {
      const [peer] = pair.peers;
      for (let filled = 0; pair.router.writable && filled < 100; filled++) {
        await within(pair.router.send([peer, 'filler']), 5_000, 'a filler message');
      }
      expect(pair.router.writable).toBe(false);
      const writer = new ReplyWriter(pair.router, 'orders');
      const send = (id: string) =>
        writer.send(peer, encodeReply(id, 'a', '')).then(
          () => 'sent',
          (error: Error) => error.message,
        );
      // Reply 1 is handed to the blocked socket; 2 and 3 wait behind it.
      const outcomes = [send('1')];
      await new Promise((resolve) => setImmediate(resolve));
      outcomes.push(send('2'), send('3'));
      const drained = writer.drain(5);
      expect(await drained).toBe(3);
      pair.close();
      expect(await Promise.all(outcomes)).toEqual(
        ['1', '2', '3'].map((id) => `Cannot send reply ${id} on socket "orders" (CLOSED): closed before it could be sent`),
      );
    } finally {
      pair.close();
    }
  });
});
