import getPort from 'get-port';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  assertAppsBuilt,
  postOrder,
  PRODUCER_MAIN,
  appHealth,
  producerCounters,
  waitForConnections,
  WORKER_MAIN,
  workerSummary,
} from '../scripts/lib/sample-apps.js';
import { childApps, expectCleanExit } from './helpers/child-apps.js';

const ORDER = {
  customerId: 'customer-42',
  items: [
    { sku: 'KB-101', quantity: 2, unitPrice: 49.5 },
    { sku: 'MS-202', quantity: 1, unitPrice: 19.99 },
  ],
};

describe('sample apps as child processes: producer HTTP API → worker', () => {
  const apps = childApps();
  beforeAll(assertAppsBuilt);

  it('POST /orders reaches the worker handler; a bad body gets 400 with the reasons and emits nothing', async () => {
    const worker = await apps.worker({ name: 'worker-http', endpoints: ['tcp://127.0.0.1:*'] });
    const producer = await apps.producer({ endpoints: worker.sockets.default });
    await waitForConnections(producer.url, 1);

    const accepted = await postOrder(producer.url, ORDER);
    expect(accepted.status).toBe(202);
    const { id, total } = accepted.body as { id: string; total: number };
    expect(total).toBe(118.99);
    const processed = await worker.process.waitFor((line) => line.message.startsWith(`Order ${id} processed`), 10_000, `order ${id}`);
    expect(processed.message).toContain('2 item(s), 118.99 EUR');

    const badBodies: Array<[body: unknown, reason: string]> = [
      [{ ...ORDER, items: [] }, 'items: an order needs at least one item'],
      [{ ...ORDER, items: [{ sku: 'KB-101', quantity: -1, unitPrice: 5 }] }, 'items.0.quantity: Too small'],
      [{ items: ORDER.items }, 'customerId: Invalid input'],
      [{ ...ORDER, currency: 'BTC' }, 'currency: Invalid option'],
      [{ ...ORDER, coupon: 'FREE' }, 'Unrecognized key: \\"coupon\\"'],
      [[ORDER], 'expected object, received array'],
      ['{"customerId": ', 'JSON'],
    ];
    for (const [body, reason] of badBodies) {
      const answer = await postOrder(producer.url, body);
      expect({ status: answer.status, reason: JSON.stringify(answer.body).includes(reason) }).toEqual({ status: 400, reason: true });
    }

    // The producer emitted once, and the worker received that one order only.
    expect(await appHealth(producer.url)).toMatchObject({
      httpStatus: 200,
      status: 'ok',
      details: { orders: { status: 'up', state: 'connected', sockets: { default: { connections: 1, queued: 0 } } } },
    });
    expect(await producerCounters(producer.url)).toEqual({ sent: 1, failed: 0 });
    await expectCleanExit(worker.process, worker.process.stop());
    expect(workerSummary(worker.process)).toMatchObject({ received: 1, handled: 1, failed: 0 });
    await expectCleanExit(producer.process, producer.process.stop());
    expect(producer.process.matching((line) => line.message === 'Stopped after SIGTERM: sent 1 order event(s), failed 0')).toHaveLength(1);
  });

  it('answers 503 when no worker takes the order within PRODUCER_SEND_TIMEOUT, and counts the failure', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nzmq-e2e-'));
    try {
      const producer = await apps.producer({ endpoints: [`ipc://${join(dir, 'nobody-here.sock')}`], sendTimeout: 300 });
      const answer = await postOrder(producer.url, ORDER);
      expect(answer).toEqual({
        status: 503,
        body: expect.objectContaining({ message: 'No worker took the order (SEND_TIMEOUT); try again later' }),
      });
      expect(await appHealth(producer.url)).toMatchObject({
        httpStatus: 503,
        details: { orders: { status: 'down', state: 'disconnected' } },
      });
      expect(await producerCounters(producer.url)).toEqual({ sent: 0, failed: 1 });
      await expectCleanExit(producer.process, producer.process.stop());
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('with PRODUCER_OUTBOX_PATH accepts orders while no worker is up, shows the outbox in /health, and a worker that comes gets them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nzmq-e2e-'));
    try {
      const endpoint = `tcp://127.0.0.1:${await getPort({ host: '127.0.0.1' })}`;
      const producer = await apps.producer({
        endpoints: [endpoint],
        outboxPath: join(dir, 'outbox'),
        env: { PRODUCER_OUTBOX_MAX_BYTES: '2000' },
      });
      const first = await postOrder(producer.url, ORDER);
      expect(first.status).toBe(202);
      // Ready with no worker connected: the order waits on disk.
      expect(await appHealth(producer.url)).toMatchObject({
        httpStatus: 200,
        details: { orders: { status: 'up', outbox: { default: { stored: 1, maxBytes: 2000, deadLetters: 0 } } } },
      });
      const accepted = [(first.body as { id: string }).id];
      let refused: Awaited<ReturnType<typeof postOrder>> | undefined;
      for (let i = 0; i < 50 && refused === undefined; i++) {
        const answer = await postOrder(producer.url, ORDER);
        if (answer.status === 202) {
          accepted.push((answer.body as { id: string }).id);
        } else {
          refused = answer;
        }
      }
      expect(refused).toEqual({
        status: 503,
        body: expect.objectContaining({ message: 'The order could not be stored (OUTBOX_FULL); try again later' }),
      });
      const full = await appHealth(producer.url);
      expect(full).toMatchObject({
        httpStatus: 503,
        details: { orders: { status: 'down', outbox: { default: { stored: accepted.length } } } },
      });
      expect(full.details.orders.message).toContain('route "default" has a full outbox');

      const worker = await apps.worker({ name: 'worker-outbox', endpoints: [endpoint], env: { WORKER_KIND: 'dealer-router' } });
      for (const id of accepted) {
        await worker.process.waitFor((line) => line.message.startsWith(`Order ${id} processed`), 15_000, `order ${id}`);
      }
      await expectCleanExit(producer.process, producer.process.stop());
      await expectCleanExit(worker.process, worker.process.stop());
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses to start on bad configuration, naming every bad variable (exit code 1)', async () => {
    const worker = apps.command('worker-bad-env', process.execPath, [WORKER_MAIN], {
      env: { WORKER_ENDPOINTS: 'localhost:5557', WORKER_CONCURRENCY: '0', WORKER_BIND: 'maybe' },
    });
    const producer = apps.command('producer-bad-env', process.execPath, [PRODUCER_MAIN], {
      env: { PRODUCER_ENDPOINTS: '', PRODUCER_PORT: '70000' },
    });
    expect(await worker.exited).toEqual({ code: 1, signal: null });
    expect(await producer.exited).toEqual({ code: 1, signal: null });
    const errors = (app: typeof worker) =>
      app
        .matching((line) => line.stream === 'stderr')
        .map((line) => line.message)
        .join('\n');
    expect(errors(worker)).toMatch(/^Worker failed to start: Config validation error: /);
    expect(errors(worker)).toContain('WORKER_ENDPOINTS.0: must be tcp://host:port, ipc://path or inproc://name');
    expect(errors(worker)).toContain('WORKER_CONCURRENCY: Too small');
    expect(errors(worker)).toContain('WORKER_BIND: Invalid option');
    expect(errors(producer)).toContain('PRODUCER_ENDPOINTS: must list at least one address');
    expect(errors(producer)).toContain('PRODUCER_PORT: Too big');
  });
});
