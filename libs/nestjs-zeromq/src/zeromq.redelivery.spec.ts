import { Controller, Inject } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import type { ZeroMqContext } from './zeromq.context.js';
import type { ZeroMqServerOptions } from './zeromq.options.js';
import { boundAddress, RECEIVED, startWorker, type Received, type Worker } from '../test/nest-apps.js';
import { LOOPBACK_ANY_PORT } from '../test/endpoints.js';
import { HandProducer } from '../test/hand-producer.js';
import { Collector, eventually, within } from '../test/waiting.js';

/** Handlers of 'jobs' that wait for `gate` (when set) before they finish, so a test can hold one running. */
let gate: Promise<void> | undefined;
let release = () => {};
let fail = (_error: Error) => {};

@Controller()
class GatedJobsController {
  constructor(@Inject(RECEIVED) private readonly received: Collector<Received>) {}

  @EventPattern<string>('jobs')
  async job(@Payload() data: unknown, @Ctx() context: ZeroMqContext): Promise<void> {
    this.received.add({ pattern: 'jobs', data, context });
    await gate;
  }
}

const handledSeqs = (worker: Worker) => worker.received.items.map((item) => (item.data as { seq: number }).seq);

describe('At-least-once redeliveries at the worker (docs/delivery.md, "Duplicates")', () => {
  let worker: Worker;
  let producer: HandProducer;
  /** A second connection of the same producer, as after a reconnect (a new routing id at the worker). */
  let reconnected: HandProducer | undefined;

  /** Whether the test closed the worker itself. */
  let closed = false;

  const start = async (options: Pick<ZeroMqServerOptions, 'dedupeWindow' | 'concurrency' | 'closeTimeout'> = {}) => {
    closed = false;
    worker = await startWorker({ endpoints: [LOOPBACK_ANY_PORT], kind: 'dealer-router', ...options }, [GatedJobsController]);
    producer = new HandProducer();
    await producer.connect(boundAddress(worker.server));
  };

  afterEach(async () => {
    release();
    gate = undefined;
    producer.close();
    reconnected?.close();
    reconnected = undefined;
    if (!closed) {
      await worker.app.close();
    }
  });

  it('acks again, without running the handler again, a redelivery of a message it completed', async () => {
    await start();
    await producer.deliver('p.1', 1, 1);
    expect(await producer.acks()).toEqual(['p.1:a']);
    // The ack was lost on its way (as far as the producer knows): the same id comes again.
    await producer.deliver('p.1', 2, 1);
    expect(await producer.acks()).toEqual(['p.1:a']);
    await producer.deliver('p.2', 1, 2);
    expect(await producer.acks()).toEqual(['p.2:a']);
    expect(handledSeqs(worker)).toEqual([1, 2]);
    expect(worker.server.getMetrics()).toMatchObject({ handled: 2, duplicates: 1 });
  });

  it('ignores a redelivery that arrives while the first run is going; that run acks it once', async () => {
    await start();
    gate = new Promise((resolve) => (release = resolve));
    await producer.deliver('p.1', 1, 1);
    await worker.received.waitFor(1);
    await producer.deliver('p.1', 2, 1);
    // The redelivery is read (counted) before the first run is let go.
    await eventually(
      () => worker.server.getMetrics().duplicates,
      (duplicates) => duplicates === 1,
    );
    release();
    expect(await producer.acks()).toEqual(['p.1:a']);
    // One ack only: the next message's ack is the next thing the producer reads.
    await producer.deliver('p.2', 1, 2);
    expect(await producer.acks()).toEqual(['p.2:a']);
    expect(handledSeqs(worker)).toEqual([1, 2]);
  });

  it.each([
    ['acked', 'a', () => release()],
    ['failed', 'f', () => fail(new Error('job failed'))],
  ])(
    'answers a redelivery that came over a new connection while the first run went on: both connections hear it %s',
    async (_outcome, status, settle) => {
      await start();
      gate = new Promise((resolve, reject) => {
        release = resolve;
        fail = reject;
      });
      await producer.deliver('p.1', 1, 1);
      await worker.received.waitFor(1);
      // The producer lost its connection and sent p.1 again over a new one: the first run's peer
      // may be gone, and the producer counts on an answer on the connection it sent the copy on.
      reconnected = new HandProducer();
      await reconnected.connect(boundAddress(worker.server));
      await reconnected.deliver('p.1', 2, 1);
      await eventually(
        () => worker.server.getMetrics().duplicates,
        (duplicates) => duplicates === 1,
      );
      settle();
      expect(await reconnected.acks()).toEqual([`p.1:${status}`]);
      expect(await producer.acks()).toEqual([`p.1:${status}`]);
      expect(handledSeqs(worker)).toEqual([1]);
    },
  );

  it('refuses an undecodable delivery for good at once (x), dead-letters it and runs nothing', async () => {
    await start();
    await producer.deliverUndecodable('p.9');
    expect(await producer.acks()).toEqual(['p.9:x']);
    expect(handledSeqs(worker)).toEqual([]);
    expect(worker.server.getMetrics()).toMatchObject({ deadLettered: 1, handled: 0 });
  });

  it('remembers only the last dedupeWindow completed ids: an older redelivery runs again', async () => {
    await start({ dedupeWindow: 2 });
    for (const seq of [1, 2, 3]) {
      await producer.deliver(`p.${seq}`, 1, seq);
      expect(await producer.acks()).toEqual([`p.${seq}:a`]);
    }
    await producer.deliver('p.3', 2, 3);
    expect(await producer.acks()).toEqual(['p.3:a']);
    await producer.deliver('p.1', 2, 1);
    expect(await producer.acks()).toEqual(['p.1:a']);
    expect(handledSeqs(worker)).toEqual([1, 2, 3, 1]);
    expect(worker.server.getMetrics()).toMatchObject({ handled: 4, duplicates: 1 });
  });

  it('closing, tells its producers "credit 0" (one that says hello too), answers the run still going and counts those not started', async () => {
    await start({ concurrency: 1 });
    gate = new Promise((resolve) => (release = resolve));
    for (const seq of [1, 2, 3]) {
      await producer.deliver(`p.${seq}`, 1, seq);
    }
    await worker.received.waitFor(1);
    await eventually(
      () => worker.server.getSocketStates().default?.queued,
      (queued) => queued === 2,
    );
    closed = true;
    const closing = worker.app.close();
    expect(await producer.next()).toEqual({ kind: 'credit', window: 0 });
    reconnected = new HandProducer();
    await reconnected.connect(boundAddress(worker.server));
    expect(reconnected.credit).toBe(0);
    release();
    expect(await producer.acks()).toEqual(['p.1:a']);
    await within(closing, 5_000, 'the worker to close');
    expect(handledSeqs(worker)).toEqual([1]);
    expect(worker.server.getMetrics()).toMatchObject({ handled: 1, droppedOnClose: 2 });
  });

  it('counts an ack it could no longer send: the handler ended after the worker closed', async () => {
    await start({ closeTimeout: 50 });
    gate = new Promise((resolve) => (release = resolve));
    await producer.deliver('p.1', 1, 1);
    await worker.received.waitFor(1);
    closed = true;
    await within(worker.app.close(), 5_000, 'the worker to close');
    release();
    await eventually(
      () => worker.server.getMetrics().repliesFailed,
      (failed) => failed === 1,
    );
  });
});
