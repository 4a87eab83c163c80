import { firstValueFrom } from 'rxjs';
import * as zmq from 'zeromq';
import { ZeroMqClient } from './zeromq.client.js';
import { boundAddress, startWorker, type Worker } from '../test/nest-apps.js';
import { LOOPBACK_ANY_PORT } from '../test/endpoints.js';
import { eventually, within } from '../test/waiting.js';

const emit = (client: ZeroMqClient, pattern: unknown, data: unknown) =>
  firstValueFrom(client.emit(pattern, data), { defaultValue: undefined });

/** A framed events message as docs/protocol.md describes it, built by hand. */
const framed = (pattern: string, payload: unknown, info = 'j') => ['NZ1E', pattern, info, JSON.stringify(payload)];

describe('Interop with plain ZeroMQ peers and bad input', () => {
  let worker: Worker | undefined;
  let client: ZeroMqClient | undefined;
  const sockets: zmq.Socket[] = [];
  const raw = <S extends zmq.Socket>(socket: S): S => {
    sockets.push(socket);
    return socket;
  };

  afterEach(async () => {
    for (const socket of sockets.splice(0)) {
      socket.close();
    }
    await client?.close();
    await worker?.app.close();
    client = undefined;
    worker = undefined;
  });

  it('hands single-frame messages from a plain PUSH socket to the plainMessages pattern', async () => {
    worker = await startWorker({ endpoints: [LOOPBACK_ANY_PORT], plainMessages: { pattern: 'plain' } });
    const push = raw(new zmq.Push({ linger: 0 }));
    push.connect(boundAddress(worker.server));
    await push.send('Hello from a plain socket');
    await push.send(framed('orders.created', { id: 7 }));
    const messages = await worker.received.waitFor(2);
    expect(messages[0]).toMatchObject({ pattern: 'plain', data: 'Hello from a plain socket' });
    expect(messages[0].context.isPlainMessage()).toBe(true);
    expect(messages[1]).toMatchObject({ pattern: 'orders.created', data: { id: 7 } });
  });

  it.each([
    ['json', '{"n":1}', { n: 1 }],
    ['buffer', 'raw', Buffer.from('raw')],
  ] as const)('decodes plain messages as %s', async (decoding, sent, expected) => {
    worker = await startWorker({ endpoints: [LOOPBACK_ANY_PORT], plainMessages: { pattern: 'plain', decoding } });
    const push = raw(new zmq.Push({ linger: 0 }));
    push.connect(boundAddress(worker.server));
    await push.send(sent);
    const [message] = await worker.received.waitFor(1);
    expect(message.data).toEqual(expected);
  });

  it('feeds a plain PULL socket through a bare route, and framed messages otherwise', async () => {
    const pull = raw(new zmq.Pull({ linger: 0 }));
    await pull.bind('tcp://127.0.0.1:*');
    client = new ZeroMqClient({
      endpoints: [pull.lastEndpoint!],
      routes: [{ name: 'legacy', patterns: ['legacy.text', 'legacy.json', 'legacy.bytes'], endpoints: [pull.lastEndpoint!], bare: true }],
    });
    await emit(client, 'legacy.text', 'just text');
    await emit(client, 'legacy.json', { a: 1 });
    await emit(client, 'legacy.bytes', Buffer.from([1, 2, 3]));
    await emit(client, 'orders.created', { id: 8 });
    const received: Buffer[][] = [];
    for (let i = 0; i < 4; i++) {
      received.push(await within(pull.receive(), 5_000, `message ${i + 1} on the plain PULL socket`));
    }
    // Two sockets feed the PULL socket, so only each socket's own order is defined.
    const bare = received.filter((frames) => frames.length === 1).map(([frame]) => frame);
    const framedMessages = received.filter((frames) => frames.length > 1);
    expect(bare).toHaveLength(3);
    expect(bare[0].toString()).toBe('just text');
    expect(JSON.parse(bare[1].toString())).toEqual({ a: 1 });
    expect(bare[2]).toEqual(Buffer.from([1, 2, 3]));
    expect(framedMessages.map((frames) => frames.map((frame) => frame.toString()))).toEqual([['NZ1E', 'orders.created', 'j', '{"id":8}']]);
  });

  it('survives garbage interleaved with valid messages, delivers every valid one and counts the rest', async () => {
    worker = await startWorker({ endpoints: [LOOPBACK_ANY_PORT], logInterval: 60_000 });
    const push = raw(new zmq.Push({ linger: 0 }));
    push.connect(boundAddress(worker.server));
    const garbage: Array<{ frames: Array<string | Buffer>; counts: 'malformed' | 'undecodable' | 'unknownPattern' }> = [
      { frames: [Buffer.from([0xff, 0x00, 0x13])], counts: 'malformed' }, // plain frame, plainMessages not set
      { frames: ['junk', 'more junk'], counts: 'malformed' }, // no header
      { frames: ['NZ1E', 'orders.created', 'j'], counts: 'malformed' }, // incomplete record
      { frames: ['NZ9E', 'orders.created', 'j', '{}'], counts: 'malformed' }, // unknown version
      { frames: ['NZ1E'], counts: 'malformed' }, // header only
      { frames: ['NZ1E', 'orders.created', 'j', '{not json'], counts: 'undecodable' },
      { frames: ['NZ1E', 'orders.created', 'x', '{}'], counts: 'undecodable' }, // unknown encoding
      { frames: ['NZ1E', '', 'j', '{}'], counts: 'undecodable' }, // empty pattern
      { frames: ['NZ1E', 'orders.created', 'j{"a":1}', '{}'], counts: 'undecodable' }, // metadata not strings
      { frames: ['NZ1E', 'orders.created', '', '{}'], counts: 'undecodable' }, // empty info
      { frames: ['NZ1E', 'x'.repeat(2000), 'j', '{}'], counts: 'undecodable' }, // pattern too long
      { frames: ['NZ1E', 'nobody.listens', 'j', '{}'], counts: 'unknownPattern' },
    ];
    let valid = 0;
    for (const bad of garbage) {
      await push.send(bad.frames);
      await push.send(framed('orders.created', { seq: valid++ }));
    }
    // A batch with one bad record among good ones: the good ones still arrive.
    await push.send([
      'NZ1E',
      ...['orders.created', 'j', JSON.stringify({ seq: valid++ })],
      ...['orders.created', 'j', '{broken'],
      ...['orders.created', 'j', JSON.stringify({ seq: valid++ })],
    ]);
    const messages = await worker.received.waitFor(valid);
    expect(messages.map((m) => (m.data as { seq: number }).seq)).toEqual(Array.from({ length: valid }, (_, i) => i));
    const expected = (kind: string) => garbage.filter((bad) => bad.counts === kind).length;
    await eventually(
      () => worker!.server.getMetrics(),
      (m) => m.handled === valid,
    );
    expect(worker.server.getMetrics()).toMatchObject({
      handled: valid,
      malformed: expected('malformed'),
      undecodable: expected('undecodable') + 1,
      unknownPattern: expected('unknownPattern'),
      failed: 0,
    });
  });

  it('drops an oversized message without harm and delivers the ones after it', async () => {
    worker = await startWorker({ endpoints: [LOOPBACK_ANY_PORT], maxMessageSize: 1024 });
    const push = raw(new zmq.Push({ linger: 0 }));
    push.connect(boundAddress(worker.server));
    const reset = within(
      new Promise<void>((resolve) => worker!.server.on('disconnect', () => resolve())),
      5_000,
      'the connection reset caused by the oversized message',
    );
    await push.send(framed('orders.created', { big: 'x'.repeat(4096) }));
    // ZeroMQ drops the oversized message and resets the connection; the producer reconnects.
    await reset;
    await push.send(framed('orders.created', { small: true }));
    const [message] = await worker.received.waitFor(1);
    expect(message.data).toEqual({ small: true });
  });
});
