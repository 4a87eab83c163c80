import { sampleOrder } from '../apps/producer/src/load/sample-orders.js';
import { appHealth, assertAppsBuilt, postOrder, waitForConnections } from '../scripts/lib/sample-apps.js';
import { parsePrometheusText, type PrometheusFamily } from '../scripts/lib/prometheus-text.js';
import { childApps, expectCleanExit } from './helpers/child-apps.js';

/** GET `/metrics` of an app, parsed. */
async function scrape(url: string): Promise<Map<string, PrometheusFamily>> {
  const response = await fetch(`${url}/metrics`);
  expect(response.headers.get('content-type')).toContain('text/plain');
  return parsePrometheusText(await response.text());
}

/** The value of the sample of `name` whose labels include `labels`. */
function valueOf(families: Map<string, PrometheusFamily>, name: string, labels: Record<string, string>): number | undefined {
  const base = name.replace(/_count$/, '');
  return families
    .get(base)
    ?.samples.find((sample) => sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value))?.value;
}

describe('sample apps: /health through terminus and /metrics, as child processes', () => {
  const apps = childApps();
  beforeAll(assertAppsBuilt);

  it('reports healthy with a worker, serves both apps’ metrics, and unhealthy once the worker is gone', async () => {
    const worker = await apps.worker({ name: 'worker-obs', endpoints: ['tcp://127.0.0.1:*'], httpPort: 0 });
    expect(worker.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const producer = await apps.producer({ endpoints: worker.sockets.default });
    await waitForConnections(producer.url, 1);

    expect(await appHealth(producer.url)).toMatchObject({
      httpStatus: 200,
      status: 'ok',
      details: { orders: { status: 'up', state: 'connected', sockets: { default: { connections: 1, queued: 0 } } } },
    });
    expect(await appHealth(producer.url, '/health/live')).toMatchObject({ httpStatus: 200, status: 'ok' });
    expect(await appHealth(worker.url!)).toMatchObject({
      httpStatus: 200,
      details: {
        zeromq: { status: 'up', state: 'connected', sockets: { default: { connections: 1, reading: true, inFlight: 0, concurrency: 8 } } },
      },
    });

    for (let i = 0; i < 3; i++) {
      const answer = await postOrder(producer.url, sampleOrder(i));
      expect(answer.status).toBe(202);
      const { id } = answer.body as { id: string };
      await worker.process.waitFor((line) => line.message.startsWith(`Order ${id} processed`), 10_000, `order ${id}`);
    }

    const producerMetrics = await scrape(producer.url);
    expect(valueOf(producerMetrics, 'nestjs_zeromq_client_sent_total', { client: 'orders' })).toBe(3);
    expect(valueOf(producerMetrics, 'nestjs_zeromq_client_dispatched_total', { client: 'orders', pattern: 'orders.created' })).toBe(3);
    expect(valueOf(producerMetrics, 'nestjs_zeromq_client_connections', { client: 'orders', socket: 'default' })).toBe(1);
    expect(producerMetrics.get('process_cpu_user_seconds_total')?.type).toBe('counter');

    // The handler logs before it returns, and counts once it has: scrape until the count is there.
    let workerMetrics = await scrape(worker.url!);
    for (
      let attempt = 0;
      attempt < 100 && valueOf(workerMetrics, 'nestjs_zeromq_server_handled_total', { server: 'worker-obs' }) !== 3;
      attempt++
    ) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      workerMetrics = await scrape(worker.url!);
    }
    expect(valueOf(workerMetrics, 'nestjs_zeromq_server_handled_total', { server: 'worker-obs' })).toBe(3);
    expect(
      valueOf(workerMetrics, 'nestjs_zeromq_server_handler_duration_seconds_count', {
        server: 'worker-obs',
        pattern: 'orders.created',
        outcome: 'success',
      }),
    ).toBe(3);

    await expectCleanExit(worker.process, worker.process.stop());
    await waitForConnections(producer.url, 0);
    expect(await appHealth(producer.url)).toMatchObject({
      httpStatus: 503,
      status: 'error',
      details: { orders: { status: 'down', message: 'socket "default" has no connected peer' } },
    });
    // Liveness does not depend on the workers: the producer itself is fine.
    expect(await appHealth(producer.url, '/health/live')).toMatchObject({ httpStatus: 200 });
    await expectCleanExit(producer.process, producer.process.stop());
  });
});
