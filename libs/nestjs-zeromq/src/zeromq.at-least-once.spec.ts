import { Controller, Inject, type Logger } from '@nestjs/common';
import { Ctx, EventPattern, Payload, RpcException } from '@nestjs/microservices';
import { jest } from '@jest/globals';
import { firstValueFrom } from 'rxjs';
import * as zmq from 'zeromq';
import { ZeroMqClient } from './zeromq.client.js';
import type { ZeroMqContext } from './zeromq.context.js';
import type { ZeroMqSendError } from './zeromq.errors.js';
import type { ZeroMqDeadLetter } from './zeromq.events.js';
import type { ZeroMqClientOptions, ZeroMqServerOptions } from './zeromq.options.js';
import { decodeMessage, encodeCredit, encodeReply, HEADERS, recordFields } from './internal/protocol/wire.js';
import { boundAddress, RECEIVED, startWorker, type Received, type Worker } from '../test/nest-apps.js';
import { LOOPBACK_ANY_PORT } from '../test/endpoints.js';
import { Collector, eventually, within } from '../test/waiting.js';

interface Job {
  seq: number;
  /** Handler throws on every attempt. */
  poison?: boolean;
  /** Handler throws on attempts before this one. */
  failUntil?: number;
  /** Throw a plain Error (which Nest's exception filter hides) instead of an RpcException. */
  plainError?: boolean;
  /** Milliseconds of (async) work. */
  work?: number;
}

/** Records every handler start (pattern, seq, attempt, id) through the worker's collector. */
@Controller()
class JobsController {
  constructor(@Inject(RECEIVED) private readonly received: Collector<Received>) {}

  @EventPattern<string>('jobs')
  async job(@Payload() job: Job, @Ctx() context: ZeroMqContext): Promise<void> {
    if (job.work) {
      await new Promise((resolve) => setTimeout(resolve, job.work));
    }
    this.received.add({ pattern: 'jobs', data: job, context });
    if (job.plainError) {
      throw new Error(`job ${job.seq} broke`);
    }
    if (job.poison || (job.failUntil !== undefined && context.getAttempt() < job.failUntil)) {
      throw new RpcException(`job ${job.seq} failed on attempt ${context.getAttempt()}`);
    }
  }
}

/** A worker whose every job takes `pace` ms, or waits for `pace` to resolve (a stuck worker). */
function pacedJobsController(pace: number | Promise<void>) {
  @Controller()
  class PacedJobsController {
    constructor(@Inject(RECEIVED) private readonly received: Collector<Received>) {}

    @EventPattern<string>('jobs')
    async job(@Payload() job: Job, @Ctx() context: ZeroMqContext): Promise<void> {
      await (typeof pace === 'number' ? new Promise((resolve) => setTimeout(resolve, pace)) : pace);
      this.received.add({ pattern: 'jobs', data: job, context });
    }
  }
  return PacedJobsController;
}

const seqs = (worker: Worker) => worker.received.items.map((item) => (item.data as Job).seq);

describe('At-least-once delivery', () => {
  const workers: Worker[] = [];
  const clients: ZeroMqClient[] = [];
  const worker = async (options: Partial<ZeroMqServerOptions> = {}) => {
    const started = await startWorker({ endpoints: [LOOPBACK_ANY_PORT], kind: 'dealer-router', ...options }, [JobsController]);
    workers.push(started);
    return started;
  };
  const client = (targets: Worker[], options: Partial<ZeroMqClientOptions> = {}) => {
    const created = new ZeroMqClient({
      endpoints: targets.map((target) => boundAddress(target.server)),
      delivery: 'at-least-once',
      retryDelay: 10,
      ...options,
    });
    clients.push(created);
    return created;
  };
  const emit = (c: ZeroMqClient, job: Job) => firstValueFrom(c.emit('jobs', job), { defaultValue: undefined });

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await Promise.all(workers.splice(0).map((w) => w.app.close()));
  });

  it('completes emit() once the handler has finished, with message id and attempt in the context', async () => {
    const w = await worker();
    const c = client([w]);
    await emit(c, { seq: 1 });
    // The handler recorded before the ack resolved the emit: no waiting needed.
    expect(seqs(w)).toEqual([1]);
    const context = w.received.items[0].context;
    expect(context.getMessageId()).toMatch(/^[\w-]+\.1$/);
    expect(context.getAttempt()).toBe(1);
    // `sent` counts acked emits too (it stayed 0 under at-least-once).
    expect(c.getMetrics()).toMatchObject({ sent: 1, acked: 1, unacked: 0, redelivered: 0 });
  });

  it('retries a failing handler with back-off, exactly maxAttempts times, then dead-letters on both sides', async () => {
    const w = await worker();
    const serverLetters: ZeroMqDeadLetter[] = [];
    w.server.on('dead-letter', (letter) => serverLetters.push(letter));
    const deadLetterSink = new zmq.Pull({ linger: 0 });
    await deadLetterSink.bind('tcp://127.0.0.1:*');
    try {
      const c = client([w], { maxAttempts: 3, deadLetterEndpoints: [deadLetterSink.lastEndpoint!] });
      const clientLetters: ZeroMqDeadLetter[] = [];
      c.on('dead-letter', (letter) => clientLetters.push(letter));
      const outcomes = await Promise.all(
        [{ seq: 1 }, { seq: 2, poison: true }, { seq: 3, failUntil: 2 }, { seq: 4 }].map((job) =>
          emit(c, job).then(
            () => 'acked',
            (error: ZeroMqSendError) => error.code,
          ),
        ),
      );
      expect(outcomes).toEqual(['acked', 'DEAD_LETTER', 'acked', 'acked']);
      const attemptsOf = (seq: number) => seqs(w).filter((s) => s === seq).length;
      expect([1, 2, 3, 4].map(attemptsOf)).toEqual([1, 3, 2, 1]);
      // One message id across its redeliveries, the attempt counting up.
      const third = w.received.items.filter((item) => (item.data as Job).seq === 3).map((item) => item.context);
      expect(third.map((context) => [context.getMessageId(), context.getAttempt()])).toEqual([
        [third[0].getMessageId(), 1],
        [third[0].getMessageId(), 2],
      ]);
      expect(clientLetters).toEqual([expect.objectContaining({ pattern: 'jobs', attempts: 3, data: { seq: 2, poison: true } })]);
      expect(clientLetters[0].reason).toContain('job 2 failed on attempt 3');
      expect(serverLetters).toEqual([expect.objectContaining({ pattern: 'jobs', attempts: 3, messageId: clientLetters[0].messageId })]);
      const [header, pattern, info, payload] = (await within(deadLetterSink.receive(), 5_000, 'the dead letter')).map(String);
      expect([header, pattern, JSON.parse(payload)]).toEqual(['NZ1E', 'jobs', { seq: 2, poison: true }]);
      expect(JSON.parse(info.slice(1))).toMatchObject({ deadLetterAttempts: '3', messageId: clientLetters[0].messageId });
      expect(c.getMetrics()).toMatchObject({ acked: 3, deadLettered: 1, redelivered: 3, unacked: 0 });
    } finally {
      deadLetterSink.close();
    }
  });

  it('says where a dead letter was sent and why, even when Nest hides the handler error', async () => {
    const w = await worker();
    const c = client([w], { maxAttempts: 1 });
    const error = (await emit(c, { seq: 7, plainError: true }).catch((caught: unknown) => caught)) as ZeroMqSendError;
    expect(error).toMatchObject({ code: 'DEAD_LETTER', endpoints: [boundAddress(w.server)] });
    expect(error.message).toContain(`(${boundAddress(w.server)})`);
    expect(error.message).toContain("Nest's exception filter hides the handler's error");
  });

  it('dead-letters an unknown pattern at once instead of retrying it', async () => {
    const w = await worker();
    const c = client([w], { maxAttempts: 5 });
    await expect(firstValueFrom(c.emit('nobody.listens', {}), { defaultValue: undefined })).rejects.toMatchObject({ code: 'DEAD_LETTER' });
    expect(c.getMetrics()).toMatchObject({ deadLettered: 1, redelivered: 0 });
    expect(w.server.getMetrics()).toMatchObject({ unknownPattern: 1, deadLettered: 1 });
  });

  it('sends work to the worker with free credit: a stuck worker holds its credit, the rest go elsewhere', async () => {
    let release = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    const credit = 4;
    const options: ZeroMqServerOptions = { endpoints: [LOOPBACK_ANY_PORT], kind: 'dealer-router', concurrency: 2, credit };
    const fast = await startWorker(options, [pacedJobsController(1)]);
    const stuck = await startWorker(options, [pacedJobsController(held)]);
    workers.push(fast, stuck);
    const c = client([fast, stuck]);
    const total = 400;
    const done = Promise.all(Array.from({ length: total }, (_, seq) => emit(c, { seq })));
    try {
      // Whatever the timing: the stuck worker holds its credit (2 running, 2 waiting), no more.
      await eventually(
        () => c.getMetrics().acked,
        (acked) => acked === total - credit,
        20_000,
      );
      expect(c.getMetrics().unacked).toBe(credit);
      expect(stuck.server.getMetrics()).toMatchObject({ inFlight: 2, queued: 2 });
    } finally {
      release();
    }
    await within(done, 10_000, 'all jobs acked');
    expect([seqs(fast).length, seqs(stuck).length]).toEqual([total - credit, credit]);
  });

  it('lets a worker hold its credit: concurrency running, the rest read ahead, no more', async () => {
    const w = await worker({ concurrency: 2, credit: 6 });
    const c = client([w]);
    const done = Promise.all(Array.from({ length: 20 }, (_, seq) => emit(c, { seq, work: 100 })));
    const held = await eventually(
      () => w.server.getMetrics(),
      (metrics) => metrics.inFlight === 2 && metrics.queued === 4,
    );
    expect(held).toMatchObject({ inFlight: 2, queued: 4 });
    expect(c.getMetrics().unacked).toBe(20);
    await within(done, 10_000, 'every job acked');
    expect(c.getMetrics()).toMatchObject({ acked: 20, unacked: 0 });
  });

  it('acks each producer its own messages with two producers and two workers', async () => {
    const workerA = await worker();
    const workerB = await worker();
    const producer1 = client([workerA, workerB]);
    const producer2 = client([workerA, workerB]);
    const perProducer = 500;
    await within(
      Promise.all([
        ...Array.from({ length: perProducer }, (_, seq) => emit(producer1, { seq })),
        ...Array.from({ length: perProducer }, (_, seq) => emit(producer2, { seq: perProducer + seq })),
      ]),
      15_000,
      'both producers acked',
    );
    for (const producer of [producer1, producer2]) {
      expect(producer.getMetrics()).toMatchObject({ acked: perProducer, unacked: 0, deadLettered: 0 });
    }
    const handled = [...seqs(workerA), ...seqs(workerB)].sort((a, b) => a - b);
    expect(handled).toEqual(Array.from({ length: 2 * perProducer }, (_, i) => i));
  });

  it('redelivers what a crashed worker had in flight; duplicates stay within its credit', async () => {
    // Credit above the concurrency, as by default: deliveries wait at the worker, and may be lost with it.
    const concurrency = 8;
    const credit = 16;
    const doomed = await worker({ concurrency, credit });
    const survivor = await worker({ concurrency, credit });
    const c = client([doomed, survivor]);
    const warnings: string[] = [];
    jest.spyOn((c as unknown as { logger: Logger }).logger, 'warn').mockImplementation((line: unknown) => void warnings.push(String(line)));
    const total = 2_000;
    const done = Promise.all(Array.from({ length: total }, (_, seq) => emit(c, { seq, work: 1 })));
    await doomed.received.waitFor(50);
    // A crash: the worker's socket vanishes, with acks and queued deliveries in it.
    doomed.server.unwrap<Record<string, zmq.Router>>().default.close();
    await within(done, 20_000, 'every job acked');
    const handled = new Set([...seqs(doomed), ...seqs(survivor)]);
    expect(handled.size).toBe(total);
    const duplicates = seqs(doomed).length + seqs(survivor).length - total;
    console.log(`crashed worker: ${seqs(doomed).length} handled, ${duplicates} handled twice (credit ${credit})`);
    expect(duplicates).toBeLessThanOrEqual(credit);
    expect(c.getMetrics().redelivered).toBeGreaterThan(0);
    expect(c.getMetrics()).toMatchObject({ acked: total, unacked: 0, deadLettered: 0 });
    // The producer says what it redelivers, from which worker, and where to.
    expect(warnings.find((line) => line.startsWith('Lost the worker on "default#1"'))).toMatch(
      /^Lost the worker on "default#1" \(tcp:\/\/127\.0\.0\.1:\d+\) with \d+ message\(s\) not acknowledged; redelivering them: \d+ (to "default#2" \(tcp:|wait for a worker with credit)/,
    );
  });

  it('closes gracefully on both sides with messages in flight: nothing lost, nothing unacked', async () => {
    const w = await worker({ concurrency: 16 });
    const c = new ZeroMqClient({ endpoints: [boundAddress(w.server)], delivery: 'at-least-once' });
    const total = 300;
    const emits = Array.from({ length: total }, (_, seq) => emit(c, { seq, work: 5 }));
    await w.received.waitFor(20);
    expect(await within(c.close(), 10_000, 'client close')).toBe(0);
    await Promise.all(emits);
    expect(new Set(seqs(w)).size).toBe(total);
    expect(c.getMetrics().unacked).toBe(0);
  });

  it('keeps an emit pending while no worker has credit, and close() fails it with CLOSED and counts it', async () => {
    // A worker that never announces credit: the message waits at the producer.
    const router = new zmq.Router({ linger: 0 });
    await router.bind('tcp://127.0.0.1:*');
    try {
      const c = new ZeroMqClient({ endpoints: [router.lastEndpoint!], delivery: 'at-least-once', sendTimeout: 200, closeTimeout: 500 });
      const outcome = emit(c, { seq: 1 }).then(
        () => 'acked',
        (error: ZeroMqSendError) => error.code,
      );
      await within(router.receive(), 5_000, "the producer's hello");
      expect(c.getMetrics()).toMatchObject({ unacked: 1, acked: 0 });
      expect(await within(c.close(), 5_000, 'client close')).toBe(1);
      expect(await outcome).toBe('CLOSED');
    } finally {
      router.close();
    }
  });

  it('reads the acks a worker sent just before it disconnected, however late it reads them', async () => {
    // A raw worker that acks and closes at once, while the client's event loop is blocked: the
    // ack and the disconnect both reach the client's ZeroMQ before it reads anything. With
    // ZMQ_IMMEDIATE on, ZeroMQ dropped the unread ack with the connection.
    const router = new zmq.Router({ linger: 1_000 });
    await router.bind('tcp://127.0.0.1:*');
    const c = new ZeroMqClient({ endpoints: [router.lastEndpoint!], delivery: 'at-least-once', ackTimeout: 30_000 });
    clients.push(c);
    const acked = emit(c, { seq: 1 });
    const limits = { maxPatternLength: 1_000, maxRecordsPerMessage: 10 };
    for (;;) {
      const [peer, ...frames] = await within(router.receive(), 5_000, 'a message from the client');
      const message = decodeMessage(frames, limits);
      if (message.kind === 'hello') {
        await router.send(encodeCredit([peer], 1));
      } else if (message.kind === 'deliveries') {
        await router.send([peer, HEADERS.replies, ...recordFields.reply(encodeReply(message.records[0].id, 'a', undefined))]);
        break;
      }
    }
    router.close();
    const blockedUntil = Date.now() + 500;
    while (Date.now() < blockedUntil) {
      // Busy: ZeroMQ's I/O threads take the ack and then the disconnect meanwhile.
    }
    await within(acked, 3_000, 'the ack read after the disconnect');
    expect(c.getMetrics()).toMatchObject({ acked: 1, redelivered: 0, unacked: 0 });
  });

  it('finishes and acks in-flight work when the worker closes, and the rest goes to another worker', async () => {
    const closing = await worker({ concurrency: 8 });
    const other = await worker({ concurrency: 8 });
    const c = client([closing, other]);
    const total = 500;
    const done = Promise.all(Array.from({ length: total }, (_, seq) => emit(c, { seq, work: 2 })));
    await closing.received.waitFor(30);
    await workers.splice(workers.indexOf(closing), 1)[0].app.close();
    await within(done, 15_000, 'every job acked');
    expect(new Set([...seqs(closing), ...seqs(other)]).size).toBe(total);
    expect(closing.server.getMetrics().inFlight).toBe(0);
  });
});
