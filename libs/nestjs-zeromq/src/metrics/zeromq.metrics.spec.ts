import { Controller } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { Registry } from 'prom-client';
import { firstValueFrom } from 'rxjs';
import { ZeroMqClient } from '../zeromq.client.js';
import { ZeroMqContext } from '../zeromq.context.js';
import { LOOPBACK_ANY_PORT } from '../../test/endpoints.js';
import { boundAddress, startWorker, type Worker } from '../../test/nest-apps.js';
import { parsePrometheusText, type PrometheusFamily } from '../../../../scripts/lib/prometheus-text.js';
import { eventually } from '../../test/waiting.js';
import { registerZeroMqClientMetrics } from './client-metrics.js';
import { registerZeroMqServerMetrics } from './server-metrics.js';

@Controller()
class OrdersController {
  @EventPattern<string>('orders.created')
  onCreated(@Payload() _order: unknown, @Ctx() _context: ZeroMqContext): void {}

  @EventPattern<string>('orders.fail')
  onFail(): never {
    throw new Error('this order cannot be processed');
  }
}

/** Scrapes the registry as Prometheus would and parses the text. */
async function scrape(registry: Registry): Promise<Map<string, PrometheusFamily>> {
  return parsePrometheusText(await registry.metrics());
}

/** A family's values as `labels → value` (histograms: their `_count`), for readable expectations. */
function samples(families: Map<string, PrometheusFamily>, name: string): Record<string, number> {
  const family = families.get(name);
  if (family === undefined) {
    throw new Error(`no metric ${name} in the scrape (have ${[...families.keys()].join(', ')})`);
  }
  const sampleName = family.type === 'histogram' ? `${name}_count` : name;
  return Object.fromEntries(
    family.samples
      .filter((sample) => sample.name === sampleName)
      .map((sample) => [
        Object.entries(sample.labels)
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([key, value]) => `${key}=${value}`)
          .join(','),
        sample.value,
      ]),
  );
}

describe('Prometheus metrics (nestjs-zeromq/prometheus)', () => {
  const workers: Worker[] = [];
  const clients: ZeroMqClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close()));
    await Promise.all(workers.splice(0).map((worker) => worker.app.close()));
  });

  const start = async () => {
    const worker = await startWorker({ endpoints: [LOOPBACK_ANY_PORT] }, [OrdersController]);
    workers.push(worker);
    return worker;
  };

  it('after N emits the scraped text has the right counts and labels, on client and server', async () => {
    const registry = new Registry();
    const worker = await startWorker({ endpoints: [LOOPBACK_ANY_PORT] }, [OrdersController]);
    workers.push(worker);
    // Registered after listen() too: the hooks only see handler runs from then on.
    registerZeroMqServerMetrics(worker.server, { registry, name: 'worker-1' });
    const client = new ZeroMqClient({ endpoints: [boundAddress(worker.server)] });
    clients.push(client);
    registerZeroMqClientMetrics(client, { registry, name: 'orders', patterns: ['orders.created'], learnPatterns: 1, stampSendTime: true });

    const emits: Array<[string, number]> = [
      ['orders.created', 5],
      ['orders.fail', 2],
      ['nobody.listens', 3],
    ];
    for (const [pattern, count] of emits) {
      for (let i = 0; i < count; i++) {
        await firstValueFrom(client.emit(pattern, { i }), { defaultValue: undefined });
      }
    }
    await eventually(
      () => worker.server.getMetrics(),
      (metrics) => metrics.handled + metrics.failed + metrics.unknownPattern === 10,
    );

    const families = await scrape(registry);
    expect(samples(families, 'nestjs_zeromq_client_sent_total')).toEqual({ 'client=orders': 10 });
    expect(samples(families, 'nestjs_zeromq_client_failed_total')).toEqual({ 'client=orders': 0 });
    // One label per known pattern, one learned (learnPatterns: 1), the rest is "other".
    expect(samples(families, 'nestjs_zeromq_client_dispatched_total')).toEqual({
      'client=orders,pattern=orders.created': 5,
      'client=orders,pattern=orders.fail': 2,
      'client=orders,pattern=other': 3,
    });
    expect(samples(families, 'nestjs_zeromq_client_connections')).toEqual({ 'client=orders,socket=default': 1 });
    expect(samples(families, 'nestjs_zeromq_client_queued')).toEqual({ 'client=orders,socket=default': 0 });
    expect(samples(families, 'nestjs_zeromq_client_max_queue_size')).toEqual({ 'client=orders,socket=default': 100_000 });

    expect(samples(families, 'nestjs_zeromq_server_received_total')).toEqual({ 'server=worker-1': 10 });
    expect(samples(families, 'nestjs_zeromq_server_handled_total')).toEqual({ 'server=worker-1': 5 });
    expect(samples(families, 'nestjs_zeromq_server_failed_total')).toEqual({ 'server=worker-1': 2 });
    expect(samples(families, 'nestjs_zeromq_server_unknown_pattern_total')).toEqual({ 'server=worker-1': 3 });
    expect(samples(families, 'nestjs_zeromq_server_in_flight')).toEqual({ 'server=worker-1,socket=default': 0 });
    expect(samples(families, 'nestjs_zeromq_server_concurrency')).toEqual({ 'server=worker-1,socket=default': 100 });
    expect(samples(families, 'nestjs_zeromq_server_reading')).toEqual({ 'server=worker-1,socket=default': 1 });
    expect(samples(families, 'nestjs_zeromq_server_held_bytes')).toEqual({ 'server=worker-1,socket=default': 0 });
    expect(samples(families, 'nestjs_zeromq_server_receive_budget_bytes')).toEqual({ 'server=worker-1,socket=default': 64 * 1024 * 1024 });
    expect(samples(families, 'nestjs_zeromq_server_budget_pauses_total')).toEqual({ 'server=worker-1': 0 });
    expect(samples(families, 'nestjs_zeromq_server_connections')).toEqual({ 'server=worker-1,socket=default': 1 });
    expect(samples(families, 'nestjs_zeromq_server_handler_duration_seconds')).toEqual({
      'outcome=success,pattern=orders.created,server=worker-1,socket=default': 5,
      'outcome=error,pattern=orders.fail,server=worker-1,socket=default': 2,
    });
    expect(samples(families, 'nestjs_zeromq_server_delivery_latency_seconds')).toEqual({
      'pattern=orders.created,server=worker-1,socket=default': 5,
      'pattern=orders.fail,server=worker-1,socket=default': 2,
    });
    expect(families.get('nestjs_zeromq_server_handler_duration_seconds')?.type).toBe('histogram');
    expect(families.get('nestjs_zeromq_client_sent_total')?.type).toBe('counter');
  });

  it('keeps the pattern label bounded with 10,000 distinct unknown patterns', async () => {
    const registry = new Registry();
    const worker = await start();
    registerZeroMqServerMetrics(worker.server, { registry });
    const client = new ZeroMqClient({ endpoints: [boundAddress(worker.server)] });
    clients.push(client);
    registerZeroMqClientMetrics(client, { registry, patterns: ['orders.created'] });

    // In rounds of 1000: the send queue holds at most maxQueueSize emits.
    for (let round = 0; round < 10; round++) {
      const sends: Array<Promise<unknown>> = [];
      for (let i = round * 1000; i < (round + 1) * 1000; i++) {
        sends.push(firstValueFrom(client.emit(`random.${i}`, { i }), { defaultValue: undefined }));
      }
      await Promise.all(sends);
    }
    await firstValueFrom(client.emit('orders.created', {}), { defaultValue: undefined });
    await eventually(
      () => worker.server.getMetrics(),
      (metrics) => metrics.unknownPattern === 10_000 && metrics.handled === 1,
      20_000,
    );

    const families = await scrape(registry);
    const dispatched = samples(families, 'nestjs_zeromq_client_dispatched_total');
    // 50 learned (learnPatterns' default), the known one, and "other" for the 9,950 left.
    expect(Object.keys(dispatched)).toHaveLength(52);
    expect(dispatched['client=default,pattern=other']).toBe(9_950);
    expect(dispatched['client=default,pattern=orders.created']).toBe(1);
    expect(Object.values(dispatched).reduce((sum, value) => sum + value, 0)).toBe(10_001);
    expect(samples(families, 'nestjs_zeromq_server_handler_duration_seconds')).toEqual({
      'outcome=success,pattern=orders.created,server=default,socket=default': 1,
    });
    // Every other family is per server, socket or outcome: none grows with the patterns seen.
    const series = [...families.values()].reduce((sum, family) => sum + family.samples.length, 0);
    expect(series - Object.keys(dispatched).length).toBeLessThan(60);
  });

  it('lets several servers share a registry, told apart by their name label', async () => {
    const registry = new Registry();
    const [first, second] = [await start(), await start()];
    registerZeroMqServerMetrics(first.server, { registry, name: 'a' });
    registerZeroMqServerMetrics(second.server, { registry, name: 'b' });
    const client = new ZeroMqClient({ endpoints: [boundAddress(second.server)] });
    clients.push(client);
    await firstValueFrom(client.emit('orders.created', {}), { defaultValue: undefined });
    await eventually(
      () => second.server.getMetrics().handled,
      (handled) => handled === 1,
    );
    const families = await scrape(registry);
    expect(samples(families, 'nestjs_zeromq_server_handled_total')).toEqual({ 'server=a': 0, 'server=b': 1 });
  });
});
