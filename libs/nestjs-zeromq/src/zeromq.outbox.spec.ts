import { Controller, Inject } from '@nestjs/common';
import { Ctx, EventPattern, Payload, RpcException } from '@nestjs/microservices';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { firstValueFrom } from 'rxjs';
import getPort from 'get-port';
import { ZeroMqClient } from './zeromq.client.js';
import type { ZeroMqContext } from './zeromq.context.js';
import { ZeroMqOptionsError, ZeroMqOutboxError, type ZeroMqSendError } from './zeromq.errors.js';
import type { ZeroMqClientOptions } from './zeromq.options.js';
import { inspectOutbox, requeueDeadLetters, withOutbox } from './internal/at-least-once/outbox-admin.js';
import { RECEIVED, startWorker, type Received, type Worker } from '../test/nest-apps.js';
import { Collector, eventually, within } from '../test/waiting.js';

/** Handles `jobs`; a job with `poison` fails while POISON.on is true. */
const POISON = { on: true };

@Controller()
class JobsController {
  constructor(@Inject(RECEIVED) private readonly received: Collector<Received>) {}

  @EventPattern<string>('jobs')
  job(@Payload() job: { seq: number; poison?: boolean }, @Ctx() context: ZeroMqContext): void {
    if (job.poison === true && POISON.on) {
      throw new RpcException(`job ${job.seq} is poison`);
    }
    this.received.add({ pattern: 'jobs', data: job, context });
  }
}

const emit = (client: ZeroMqClient, data: object) => firstValueFrom(client.emit('jobs', data), { defaultValue: undefined });

describe('Durable outbox (in one process)', () => {
  let directory: string;
  let endpoint: string;
  const clients: ZeroMqClient[] = [];
  const workers: Worker[] = [];

  beforeEach(async () => {
    directory = mkdtempSync(join(tmpdir(), 'nestjs-zeromq-outbox-'));
    endpoint = `tcp://127.0.0.1:${await getPort({ host: '127.0.0.1' })}`;
    POISON.on = true;
  });

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close()));
    await Promise.all(workers.splice(0).map((worker) => worker.app.close()));
    rmSync(directory, { recursive: true, force: true });
  });

  function client(options: Partial<ZeroMqClientOptions> = {}): ZeroMqClient {
    const created = new ZeroMqClient({
      endpoints: [endpoint],
      delivery: 'at-least-once',
      heartbeat: { interval: 200, timeout: 1_000 },
      outbox: { path: join(directory, 'outbox') },
      ...options,
    });
    clients.push(created);
    return created;
  }

  async function worker(): Promise<Worker> {
    const started = await startWorker({ endpoints: [{ address: endpoint, bind: true }], kind: 'dealer-router' }, [JobsController]);
    workers.push(started);
    return started;
  }

  it('resolves emits once stored while no worker is up, reports them, and delivers them when one comes', async () => {
    const producer = client();
    await Promise.all(Array.from({ length: 200 }, (_, seq) => emit(producer, { seq })));
    const metrics = producer.getMetrics();
    expect(metrics.outbox).toMatchObject({ stored: 200, deadLetters: 0, full: [] });
    expect(metrics.outbox!.storedBytes).toBeGreaterThan(200 * 20);
    expect(metrics.unacked).toBe(200);
    const up = await worker();
    await up.received.waitFor(200, 15_000);
    await eventually(
      () => producer.getMetrics().outbox!.stored,
      (stored) => stored === 0,
      5_000,
    );
    expect(new Set(up.received.items.map((item) => (item.data as { seq: number }).seq)).size).toBe(200);
  });

  it("with resolveOn 'acked' resolves only once a worker acked", async () => {
    const producer = client({ outbox: { path: join(directory, 'outbox'), resolveOn: 'acked' } });
    let resolved = false;
    const pending = emit(producer, { seq: 1 }).then(() => (resolved = true));
    await eventually(
      () => producer.getMetrics().outbox?.stored ?? 0,
      (stored) => stored === 1,
      5_000,
    );
    expect(resolved).toBe(false);
    await worker();
    await within(pending, 10_000, 'the emit acked');
  });

  it('fails with OUTBOX_FULL past maxBytes, naming the bound, and drops nothing stored', async () => {
    const producer = client({ outbox: { path: join(directory, 'outbox'), maxBytes: 2_000 } });
    const outcomes = await Promise.allSettled(Array.from({ length: 100 }, (_, seq) => emit(producer, { seq })));
    const refused = outcomes.filter((outcome) => outcome.status === 'rejected').map((outcome) => outcome.reason as ZeroMqSendError);
    const stored = outcomes.length - refused.length;
    expect(stored).toBeGreaterThan(0);
    expect(refused.length).toBeGreaterThan(0);
    expect(refused[0].code).toBe('OUTBOX_FULL');
    expect(refused[0].message).toContain('outbox.maxBytes 2000');
    expect(producer.getMetrics().outbox).toMatchObject({ stored, full: ['default'] });
    const up = await worker();
    await up.received.waitFor(stored, 15_000);
  });

  it('keeps dead letters in the store; the CLI shows them and queues them again for the next start', async () => {
    const up = await worker();
    const first = client({ maxAttempts: 2, retryDelay: 10 });
    const dead = await emit(first, { seq: 7, poison: true }).catch((error: ZeroMqSendError) => error);
    // With resolveOn 'stored' the emit resolved when stored; the dead letter is counted and kept.
    expect(dead).toBeUndefined();
    await eventually(
      () => first.getMetrics().outbox!.deadLetters,
      (count) => count === 1,
      10_000,
    );
    await first.close();
    const report = await withOutbox(join(directory, 'outbox'), (outbox) => inspectOutbox(outbox, 5));
    expect(report).toMatchObject([{ route: 'default', stored: 0, deadLetters: 1, deadLetterSamples: [{ pattern: 'jobs', attempts: 2 }] }]);
    expect(report[0].deadLetterSamples[0].reason).toContain('poison');
    expect(await withOutbox(join(directory, 'outbox'), (outbox) => requeueDeadLetters(outbox))).toBe(1);
    POISON.on = false;
    const second = client();
    await second.connect();
    await up.received.waitFor(1, 10_000);
    expect(up.received.items[0].data).toEqual({ seq: 7, poison: true });
    expect(second.getMetrics().replayed).toBe(1);
  });

  it('refuses a second client on the same path in this process, and a damaged store, with ZeroMqOutboxError', async () => {
    const holder = client();
    await holder.connect();
    const second = client();
    await expect(second.connect()).rejects.toThrow(ZeroMqOutboxError);
    await expect(second.connect()).rejects.toThrow('already open in this process');
    const damaged = join(directory, 'damaged');
    mkdirSync(damaged);
    writeFileSync(join(damaged, 'data.mdb'), Buffer.alloc(64 * 1024, 0x5a));
    const broken = client({ outbox: { path: damaged } });
    await expect(broken.connect()).rejects.toThrow(/the outbox at .*damaged cannot be opened/);
    // A failed connect() released the path: a fixed store opens.
    rmSync(damaged, { recursive: true });
    await broken.connect();
  });

  it('rejects an outbox on a route that is not at-least-once', () => {
    expect(
      () =>
        new ZeroMqClient({
          routes: [{ patterns: ['x'], endpoints: [endpoint], outbox: { path: join(directory, 'x') } }],
        }),
    ).toThrow(ZeroMqOptionsError);
  });
});
