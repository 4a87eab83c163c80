import { Controller, Inject } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import * as zmq from 'zeromq';
import type { ZeroMqContext } from './zeromq.context.js';
import { decodeMessage, encodeHello, encodeRecord, HEADERS, recordFields, type DecodedMessage } from './internal/protocol/wire.js';
import { boundAddress, RECEIVED, startWorker, type Received, type Worker } from '../test/nest-apps.js';
import { LOOPBACK_ANY_PORT } from '../test/endpoints.js';
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

/**
 * A producer speaking the wire protocol by hand (docs/protocol.md), so that a test decides when a
 * delivery comes again: the redelivery a lost ack or an `ackTimeout` would cause, without timing.
 */
class HandProducer {
  private readonly dealer = new zmq.Dealer({ linger: 0 });

  async connect(address: string): Promise<void> {
    this.dealer.connect(address);
    await this.dealer.send(encodeHello('hand-producer'));
    const credit = await this.next();
    expect(credit.kind).toBe('credit');
  }

  deliver(id: string, attempt: number, seq: number): Promise<void> {
    return this.dealer.send([HEADERS.deliveries, ...recordFields.delivery(id, attempt, 5, encodeRecord('jobs', { seq }))]);
  }

  /** Sends a delivery whose payload is not JSON although its info says so. */
  deliverUndecodable(id: string): Promise<void> {
    return this.dealer.send([HEADERS.deliveries, id, '1/5', 'jobs', 'j', '{not json']);
  }

  /** The next acks, as "id:status" (the worker may pack several in one message). */
  async acks(): Promise<string[]> {
    const message = await this.next();
    if (message.kind !== 'replies') {
      throw new Error(`expected replies, got ${message.kind}`);
    }
    return message.records.map((reply) => `${reply.id}:${reply.status}`);
  }

  private async next(): Promise<DecodedMessage> {
    const frames = await within(this.dealer.receive(), 5_000, 'a message from the worker');
    return decodeMessage(frames, { maxPatternLength: 1_000, maxRecordsPerMessage: 100 });
  }

  close(): void {
    this.dealer.close();
  }
}

const handledSeqs = (worker: Worker) => worker.received.items.map((item) => (item.data as { seq: number }).seq);

describe('At-least-once redeliveries at the worker (docs/delivery.md, "Duplicates")', () => {
  let worker: Worker;
  let producer: HandProducer;
  /** A second connection of the same producer, as after a reconnect (a new routing id at the worker). */
  let reconnected: HandProducer | undefined;

  const start = async (dedupeWindow?: number) => {
    worker = await startWorker({ endpoints: [LOOPBACK_ANY_PORT], kind: 'dealer-router', dedupeWindow }, [GatedJobsController]);
    producer = new HandProducer();
    await producer.connect(boundAddress(worker.server));
  };

  afterEach(async () => {
    release();
    gate = undefined;
    producer.close();
    reconnected?.close();
    reconnected = undefined;
    await worker.app.close();
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
    await start(2);
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
});
