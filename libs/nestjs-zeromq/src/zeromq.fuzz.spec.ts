import { connect as tcpConnect } from 'node:net';
import { firstValueFrom } from 'rxjs';
import * as zmq from 'zeromq';
import { ZeroMqClient } from './zeromq.client.js';
import type { ZeroMqClientOptions, ZeroMqServerOptions } from './zeromq.options.js';
import { boundAddress, startWorker, type Worker } from '../test/nest-apps.js';
import { LOOPBACK_ANY_PORT } from '../test/endpoints.js';
import { fuzzSeed, SeededRandom } from '../test/seeded-random.js';
import { eventually, within } from '../test/waiting.js';

const SEED = fuzzSeed(20_261_125);
const MESSAGES = 2_000;
const LIMITS = { maxPatternLength: 64, maxRecordsPerMessage: 8 };

type Frame = string | Buffer;

/** One message the fuzzer sends, and what the server must make of it. */
interface Shot {
  frames: Frame[];
  /** Sequence numbers of the valid records in it, each to be handled exactly once. */
  valid: number[];
  malformed: number;
  undecodable: number;
  unknownPattern: number;
}

const PROTOTYPE_PAYLOADS = [
  '{"__proto__":{"polluted":true}}',
  '{"order":{"lines":[{"__proto__":{"polluted":true}}]}}',
  '[{"__proto__":{"isAdmin":true}}]',
  '{"constructor":{"prototype":{"polluted":true}}}',
  '{"\\u005f_proto__":{"polluted":true}}',
];
const OTHER_KIND_HEADERS = ['NZ1Q', 'NZ1R', 'NZ1D', 'NZ1H', 'NZ1C'];
const WRONG_VERSION_HEADERS = ['NZ2E', 'NZ0E', 'NZ1e', 'nz1E', 'NZ1X', 'NZ1EE'];

/** Builds the messages: valid ones interleaved with hostile ones, all from one seed. */
class Fuzzer {
  private seq = 0;
  constructor(private readonly random: SeededRandom) {}

  private validRecord(valid: number[]): Frame[] {
    const seq = this.seq++;
    valid.push(seq);
    return ['orders.created', 'j', JSON.stringify({ seq, note: this.random.bytes(this.random.int(0, 24)).toString('base64') })];
  }

  private shot(frames: Frame[], expected: Partial<Omit<Shot, 'frames'>> = {}): Shot {
    return { frames, valid: [], malformed: 0, undecodable: 0, unknownPattern: 0, ...expected };
  }

  /** Bytes that can never be a header: ZeroMQ frames, not ours. */
  private garbage(max: number): Buffer {
    return Buffer.concat([Buffer.from([0xff]), this.random.bytes(this.random.int(0, max))]);
  }

  /** Text that opens a JSON object and never closes it: never valid JSON. */
  private brokenJson(): string {
    return `{${this.random.bytes(this.random.int(0, 20)).toString('latin1').replace(/}/g, '')}`;
  }

  next(): Shot {
    if (this.random.next() < 0.5) {
      const valid: number[] = [];
      const records = this.random.int(1, 4);
      const frames: Frame[] = ['NZ1E'];
      for (let i = 0; i < records; i++) {
        frames.push(...this.validRecord(valid));
      }
      return this.shot(frames, { valid });
    }
    const r = this.random;
    const hostile: Array<() => Shot> = [
      () => this.shot([this.garbage(64)], { malformed: 1 }),
      () =>
        this.shot(
          Array.from({ length: r.int(2, 6) }, () => this.garbage(32)),
          { malformed: 1 },
        ),
      () => this.shot([r.pick(WRONG_VERSION_HEADERS), 'orders.created', 'j', '{"seq":-1}'], { malformed: 1 }),
      () => this.shot([r.pick(OTHER_KIND_HEADERS), ...Array.from({ length: r.int(0, 4) }, () => this.garbage(8))], { malformed: 1 }),
      () => this.shot(['NZ1E', ...Array.from({ length: r.pick([1, 2, 4, 5, 7]) }, () => 'x')], { malformed: 1 }),
      () => {
        const frames: Frame[] = ['NZ1E'];
        for (let i = 0; i <= LIMITS.maxRecordsPerMessage; i++) {
          frames.push('orders.created', 'j', '{"seq":-1}');
        }
        return this.shot(frames, { malformed: 1 });
      },
      () => this.shot([''], { malformed: 1 }),
      () => this.shot(['', '', ''], { malformed: 1 }),
      () => this.shot(['NZ1E', '', '', ''], { undecodable: 1 }),
      () => this.shot(['NZ1E', 'orders.created', '', '{}'], { undecodable: 1 }),
      () => this.shot(['NZ1E', 'p'.repeat(r.int(LIMITS.maxPatternLength + 1, 20_000)), 'j', '{}'], { undecodable: 1 }),
      () => this.shot(['NZ1E', 'orders.created', 'j', this.brokenJson()], { undecodable: 1 }),
      () => this.shot(['NZ1E', 'orders.created', 'j', r.pick(PROTOTYPE_PAYLOADS)], { undecodable: 1 }),
      () => this.shot(['NZ1E', 'orders.created', r.pick(['j{"a":{}}', 'j[1]', 'j{', 'j"text"']), '{}'], { undecodable: 1 }),
      () => this.shot(['NZ1E', 'orders.created', r.pick(['x', 'J', '\u0000', 'bj']), '{}'], { undecodable: 1 }),
      () => this.shot(['NZ1E', `nobody.listens.${r.int(0, 99)}`, 'j', '{}'], { unknownPattern: 1 }),
      () => {
        // Hostile metadata is cleaned, not fatal: the record is valid.
        const valid: number[] = [];
        const [pattern, , payload] = this.validRecord(valid);
        return this.shot(['NZ1E', pattern, 'j{"__proto__":"x","traceId":"t-1"}', payload], { valid });
      },
      () => {
        // One bad record in a batch costs only that record.
        const valid: number[] = [];
        const frames = ['NZ1E', ...this.validRecord(valid), 'orders.created', 'j', r.pick(PROTOTYPE_PAYLOADS), ...this.validRecord(valid)];
        return this.shot(frames, { valid, undecodable: 1 });
      },
    ];
    return r.pick(hostile)();
  }
}

interface Mode {
  name: string;
  server: Partial<ZeroMqServerOptions>;
  client: Partial<ZeroMqClientOptions>;
  /** Options of a raw zeromq.js PUSH socket that the server lets in. */
  raw: zmq.SocketOptions<zmq.Push>;
  /**
   * Whether bytes from a peer that never did a handshake reach the decoder: libzmq reads a
   * connection without ZMTP 3 greeting as legacy ZMTP 1.0 frames, but CURVE needs ZMTP 3.
   */
  rawBytesReachDecoder: boolean;
}

const serverKeys = zmq.curveKeyPair();
const clientKeys = zmq.curveKeyPair();
const MODES: Mode[] = [
  { name: 'plaintext', server: {}, client: {}, raw: {}, rawBytesReachDecoder: true },
  {
    name: 'CURVE, an allowed but hostile client',
    server: { curve: { secretKey: serverKeys.secretKey, allowClients: [clientKeys.publicKey] } },
    client: { curve: { secretKey: clientKeys.secretKey, serverPublicKey: serverKeys.publicKey } },
    raw: { curvePublicKey: clientKeys.publicKey, curveSecretKey: clientKeys.secretKey, curveServerKey: serverKeys.publicKey },
    rawBytesReachDecoder: false,
  },
];

/** Resolves once the socket's monitor has reported `types` in this order (it starts reading at once). */
async function socketEvents(socket: zmq.Socket, types: zmq.EventType[]): Promise<void> {
  const awaited = [...types];
  for await (const event of socket.events) {
    if (event.type === awaited[0]) {
      awaited.shift();
    }
    if (awaited.length === 0) {
      return;
    }
  }
  throw new Error(`The socket closed before the events ${awaited.join(', ')}`);
}

/** True if some object in `value` has an own `__proto__` key. */
function hasOwnProtoKey(value: unknown): boolean {
  if (value === null || typeof value !== 'object') {
    return false;
  }
  return Object.prototype.hasOwnProperty.call(value, '__proto__') || Object.values(value).some(hasOwnProtoKey);
}

describe.each(MODES)('Hostile input ($name)', (mode) => {
  let worker: Worker | undefined;
  const sockets: zmq.Socket[] = [];
  const clients: ZeroMqClient[] = [];

  const rawPush = (address: string) => {
    const push = new zmq.Push({ linger: 0, immediate: true, sendTimeout: 5_000, ...mode.raw });
    sockets.push(push);
    push.connect(address);
    return push;
  };

  afterEach(async () => {
    for (const socket of sockets.splice(0)) {
      socket.close();
    }
    await Promise.all(clients.splice(0).map((client) => client.close()));
    await worker?.app.close();
    worker = undefined;
  });

  it(`survives ${MESSAGES} random messages (seed ${SEED}): every valid record handled once, every bad one counted`, async () => {
    worker = await startWorker({ endpoints: [LOOPBACK_ANY_PORT], logInterval: 60_000, ...LIMITS, ...mode.server });
    const push = rawPush(boundAddress(worker.server));
    const fuzzer = new Fuzzer(new SeededRandom(SEED));
    const expected = { valid: [] as number[], malformed: 0, undecodable: 0, unknownPattern: 0 };
    for (let i = 0; i < MESSAGES; i++) {
      const shot = fuzzer.next();
      await push.send(shot.frames);
      expected.valid.push(...shot.valid);
      expected.malformed += shot.malformed;
      expected.undecodable += shot.undecodable;
      expected.unknownPattern += shot.unknownPattern;
    }

    const received = await worker.received.waitFor(expected.valid.length, 20_000);
    const seqs = received.map((message) => (message.data as { seq: number }).seq);
    expect(new Set(seqs).size).toBe(seqs.length);
    expect([...seqs].sort((a, b) => a - b)).toEqual(expected.valid);
    const metrics = await eventually(
      () => worker!.server.getMetrics(),
      (m) => m.handled === expected.valid.length,
    );
    expect(metrics).toMatchObject({
      handled: expected.valid.length,
      failed: 0,
      malformed: expected.malformed,
      undecodable: expected.undecodable,
      unknownPattern: expected.unknownPattern,
    });
    expect(expected.malformed).toBeGreaterThan(0);
    expect(expected.undecodable).toBeGreaterThan(0);
    expect(received.some((message) => hasOwnProtoKey(message.data) || hasOwnProtoKey(message.context.getMetadata()))).toBe(false);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
  });

  it('keeps serving after a message with a frame above maxMessageSize, for that producer and the others', async () => {
    worker = await startWorker({ endpoints: [LOOPBACK_ANY_PORT], logInterval: 60_000, maxMessageSize: 4_096, ...mode.server });
    const address = boundAddress(worker.server);
    const client = new ZeroMqClient({ endpoints: [address], ...mode.client });
    clients.push(client);
    const emit = (data: unknown) => firstValueFrom(client.emit('orders.created', data), { defaultValue: undefined });
    await emit({ from: 'client', n: 1 });
    await worker.received.waitFor(1);

    const big = rawPush(address);
    await big.send(['NZ1E', 'orders.created', 'j', JSON.stringify({ seq: 0 })]);
    await worker.received.waitFor(2);
    // The producer reconnects by itself. Its own monitor says when: a message sent around the reset
    // can go into the dying pipe (libzmq reports the disconnect before the pipe is gone, seen with
    // CURVE) and plain PUSH/PULL loses it, so the next one waits for the new connection's handshake.
    const reconnected = within(socketEvents(big, ['disconnect', 'handshake']), 5_000, 'the producer to reconnect after the reset');
    await big.send(['NZ1E', 'orders.created', 'j', JSON.stringify({ huge: 'x'.repeat(64 * 1024) })]);
    await reconnected;
    await big.send(['NZ1E', 'orders.created', 'j', JSON.stringify({ seq: 1 })]);
    await emit({ from: 'client', n: 2 });
    const received = await worker.received.waitFor(4);
    expect(received.map((message) => message.data)).toEqual(
      expect.arrayContaining([{ from: 'client', n: 1 }, { seq: 0 }, { seq: 1 }, { from: 'client', n: 2 }]),
    );
    expect(received.some((message) => JSON.stringify(message.data).includes('huge'))).toBe(false);
  });

  it('drops random bytes on raw TCP connections (no ZMTP at all) and keeps serving real clients', async () => {
    worker = await startWorker({ endpoints: [LOOPBACK_ANY_PORT], logInterval: 60_000, ...mode.server });
    const address = boundAddress(worker.server);
    const port = Number(address.slice(address.lastIndexOf(':') + 1));
    const random = new SeededRandom(SEED + 1);
    for (let i = 0; i < 20; i++) {
      const bytes = random.bytes(random.int(1, 16_384));
      await within(
        new Promise<void>((resolve) => {
          const socket = tcpConnect({ host: '127.0.0.1', port }, () => socket.end(bytes));
          socket.on('error', () => resolve()); // ZeroMQ may reset the connection first
          socket.on('close', () => resolve());
          socket.resume();
        }),
        5_000,
        `raw TCP connection ${i + 1} to close`,
      );
    }
    const client = new ZeroMqClient({ endpoints: [address], ...mode.client });
    clients.push(client);
    await firstValueFrom(client.emit('orders.created', { after: 'garbage' }), { defaultValue: undefined });
    expect((await worker.received.waitFor(1))[0].data).toEqual({ after: 'garbage' });
    const metrics = await eventually(
      () => worker!.server.getMetrics(),
      (m) => m.handled === 1,
    );
    expect(worker.received.items).toHaveLength(1);
    expect(metrics.failed).toBe(0);
    // Whatever got through as legacy frames was rejected and counted, never handled.
    expect(metrics.malformed + metrics.undecodable + metrics.unknownPattern > 0).toBe(mode.rawBytesReachDecoder);
  });
});
