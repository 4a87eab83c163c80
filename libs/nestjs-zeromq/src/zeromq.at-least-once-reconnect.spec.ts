import { Controller, Inject } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { firstValueFrom } from 'rxjs';
import * as zmq from 'zeromq';
import { ZeroMqClient } from './zeromq.client.js';
import type { ZeroMqContext } from './zeromq.context.js';
import { decodeMessage, encodeCredit, encodeReply, HEADERS, recordFields } from './internal/protocol/wire.js';
import { ipcDir } from '../test/endpoints.js';
import { RECEIVED, startWorker, type Received, type Worker } from '../test/nest-apps.js';
import { Collector, eventually, within } from '../test/waiting.js';

interface KeyedJob {
  key: string;
  seq: number;
  pad?: string;
}

/** Every handler start of every worker of a test, in the order they happened (one process). */
const handled: Array<{ by: Collector<Received>; key: string; seq: number; attempt: number }> = [];

@Controller()
class KeyedJobsController {
  constructor(@Inject(RECEIVED) private readonly received: Collector<Received>) {}

  @EventPattern<string>('jobs')
  job(@Payload() job: KeyedJob, @Ctx() context: ZeroMqContext): void {
    handled.push({ by: this.received, key: job.key, seq: job.seq, attempt: context.getAttempt() });
  }
}

const LIMITS = { maxPatternLength: 1_000, maxRecordsPerMessage: 1_000 };

/**
 * What a producer's DEALER still holds when its worker's connection drops goes out over the next
 * connection to that endpoint: to a restarted worker, after the producer has sent it again
 * elsewhere. The worker runs nothing that comes on a connection before its hello (docs/protocol.md).
 */
describe('At-least-once across a reconnect', () => {
  const ipc = ipcDir();
  const workers: Worker[] = [];
  const clients: ZeroMqClient[] = [];
  const routers: zmq.Router[] = [];

  afterEach(async () => {
    handled.length = 0;
    await Promise.all(clients.splice(0).map((client) => client.close()));
    await Promise.all(workers.splice(0).map((worker) => worker.app.close()));
    routers.splice(0).forEach((router) => router.close());
  });

  afterAll(() => ipc.cleanup());

  const worker = async (address: string) => {
    const started = await startWorker({ endpoints: [address], kind: 'dealer-router' }, [KeyedJobsController]);
    workers.push(started);
    return started;
  };

  /**
   * A worker by hand that grants `credit` on every hello and stops reading at the first delivery.
   * (Every hello the client queued is read first: a hello still queued when the connection drops
   * would reach the next worker before the deliveries behind it; see docs/protocol.md.)
   */
  const handWorker = async (address: string, credit: number) => {
    const router = new zmq.Router({ linger: 0, receiveHighWaterMark: 1 });
    routers.push(router);
    await router.bind(address);
    // Bounded: the client sends a hello on connect and one once it is ready, then deliveries.
    for (let read = 0; read < 5; read++) {
      const [peer, ...frames] = await within(router.receive(), 15_000, 'a hello or a delivery');
      const { kind } = decodeMessage(frames, LIMITS);
      if (kind !== 'hello') {
        expect(kind).toBe('deliveries');
        return router;
      }
      await router.send(encodeCredit([peer], credit));
    }
    throw new Error('no delivery after 5 hellos');
  };

  it('a worker restarted on the same endpoint runs none of what the old connection still held: each key stays in order', async () => {
    const first = ipc.address('first');
    const second = ipc.address('second');
    const client = new ZeroMqClient({
      endpoints: [first, second],
      delivery: 'at-least-once',
      key: (data) => (data as KeyedJob).key,
      ackTimeout: 30_000,
      // One message per ZeroMQ message: the worker's side cannot take them all in one read.
      maxBatchSize: 1,
      // Back at the first endpoint soon after its worker restarts, however long it was away.
      reconnectMaxInterval: 200,
    });
    clients.push(client);
    const emit = (job: KeyedJob) => firstValueFrom(client.emit('jobs', job), { defaultValue: undefined });
    const keys = Array.from({ length: 20 }, (_, k) => `k${k}`);
    // The only worker at first, which reads nothing: most of these 64 KiB messages stay queued in
    // the client for that endpoint (the socket buffers on the way take a few hundred KiB).
    const connected = handWorker(first, 1_000);
    const pad = 'x'.repeat(64 * 1024);
    const zeros = keys.map((key) => emit({ key, seq: 0, pad }));
    const router = await connected;
    await eventually(
      () => client.getMetrics(),
      (metrics) => metrics.keysInFlight === keys.length,
    );
    // The worker dies with them; another comes up elsewhere, which gets them again.
    router.close();
    const other = await worker(second);
    const ones = keys.map((key) => emit({ key, seq: 1 }));
    await within(Promise.all([...zeros, ...ones]), 15_000, 'seq 0 and 1 of every key acked');
    // A worker starts on the first endpoint: the client's socket reconnects and sends what it held.
    const restarted = await worker(first);
    await eventually(
      () => restarted.server.getMetrics().beforeHello + handled.filter(({ by }) => by === restarted.received).length,
      (arrived) => arrived > 0,
      10_000,
    );
    await within(Promise.all(keys.map((key) => emit({ key, seq: 2 }))), 15_000, 'seq 2 of every key acked');
    for (const key of keys) {
      expect([key, handled.filter((entry) => entry.key === key).map(({ seq }) => seq)]).toEqual([key, [0, 1, 2]]);
    }
    // What the old connection held came before this connection's hello: not run, answered 'h'.
    expect(restarted.server.getMetrics().beforeHello).toBeGreaterThan(0);
    expect(handled.filter(({ by }) => by === restarted.received).every(({ seq }) => seq === 2)).toBe(true);
    expect(handled.filter(({ by }) => by === other.received).length).toBeGreaterThanOrEqual(keys.length * 2);
    expect(client.getMetrics()).toMatchObject({ acked: keys.length * 3, unacked: 0, keysInFlight: 0 });
  });

  it("greets a worker again that answers 'h' (it forgot the producer), and sends the message again", async () => {
    const address = ipc.address('forgetful');
    const client = new ZeroMqClient({ endpoints: [address], delivery: 'at-least-once', ackTimeout: 30_000 });
    clients.push(client);
    const router = new zmq.Router({ linger: 0 });
    routers.push(router);
    await router.bind(address);
    const outcome = firstValueFrom(client.emit('jobs', { key: 'a', seq: 0 }), { defaultValue: undefined }).then(
      () => 'acked',
      (error: Error) => error.message,
    );
    const seen: string[] = [];
    // Bounded: the client sends hello, the delivery, hello again and the delivery again.
    for (let read = 0; read < 6 && !seen.includes('deliveries 1 again'); read++) {
      const [peer, ...frames] = await within(router.receive(), 5_000, 'a message from the client');
      const message = decodeMessage(frames, LIMITS);
      if (message.kind === 'hello') {
        seen.push('hello');
        await router.send(encodeCredit([peer], 10));
      } else if (message.kind === 'deliveries') {
        const [{ id, attempt }] = message.records;
        const first = !seen.some((step) => step.startsWith('deliveries'));
        seen.push(`deliveries ${attempt}${first ? '' : ' again'}`);
        await router.send([peer, HEADERS.replies, ...recordFields.reply(encodeReply(id, first ? 'h' : 'a', undefined))]);
      }
    }
    expect(await within(outcome, 5_000, 'the emit settled')).toBe('acked');
    // Not run on its first delivery: the same attempt goes again, after a new hello.
    expect(seen).toEqual(['hello', 'deliveries 1', 'hello', 'deliveries 1 again']);
    expect(client.getMetrics()).toMatchObject({ acked: 1, deadLettered: 0, lateReplies: 0 });
  });
});
