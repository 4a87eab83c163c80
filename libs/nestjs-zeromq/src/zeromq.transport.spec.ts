import { Controller, Inject, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventPattern, Payload, Transport } from '@nestjs/microservices';
import { firstValueFrom } from 'rxjs';
import { ZEROMQ_TRANSPORT } from './constants.js';
import { ZeroMqServer } from './zeromq.server.js';
import { ZeroMqClient } from './zeromq.client.js';
import type { ZeroMqClientOptions } from './zeromq.options.js';
import { boundAddress, RECEIVED, startWorker, TEST_LOG_LEVELS, type Received, type Worker } from '../test/nest-apps.js';
import { inprocAddress, ipcDir, LOOPBACK_ANY_PORT } from '../test/endpoints.js';
import { Collector, eventually, within } from '../test/waiting.js';

const emit = (client: ZeroMqClient, pattern: unknown, data: unknown) =>
  firstValueFrom(client.emit(pattern, data), { defaultValue: undefined });

/** Resolves once the client has seen `count` ZMTP handshakes complete (listener set before they happen). */
function connections(client: ZeroMqClient, count: number): Promise<void> {
  let seen = 0;
  return within(
    new Promise<void>((resolve) =>
      client.on('handshake', () => {
        if (++seen === count) {
          resolve();
        }
      }),
    ),
    5_000,
    `${count} client connection(s)`,
  );
}

describe('ZeroMqServer + ZeroMqClient: emit to @EventPattern', () => {
  const workers: Worker[] = [];
  const clients: ZeroMqClient[] = [];
  const ipc = ipcDir();

  const worker = async (...args: Parameters<typeof startWorker>) => {
    const started = await startWorker(...args);
    workers.push(started);
    return started;
  };
  const client = (options: ZeroMqClientOptions) => {
    const created = new ZeroMqClient(options);
    clients.push(created);
    return created;
  };

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await Promise.all(workers.splice(0).map((w) => w.app.close()));
  });
  afterAll(() => ipc.cleanup());

  it.each([
    ['tcp', () => LOOPBACK_ANY_PORT],
    ['ipc', () => ipc.address('server-binds')],
    ['inproc', () => inprocAddress('server-binds')],
  ])('delivers over %s with the server bound and the client connecting', async (_transport, address) => {
    const { server, received } = await worker({ endpoints: [address()] });
    const producer = client({ endpoints: [boundAddress(server)] });
    await emit(producer, 'orders.created', { id: 1, total: 9.5 });
    const [message] = await received.waitFor(1);
    expect(message.data).toEqual({ id: 1, total: 9.5 });
    expect(message.context.getPattern()).toBe('orders.created');
    expect(message.context.getSocketName()).toBe('default');
    expect(message.context.isPlainMessage()).toBe(false);
  });

  it.each([
    ['tcp', () => LOOPBACK_ANY_PORT],
    ['ipc', () => ipc.address('client-binds')],
    ['inproc', () => inprocAddress('client-binds')],
  ])('delivers over %s with the client bound and the server connecting', async (_transport, address) => {
    const producer = client({ endpoints: [{ address: address(), bind: true }] });
    await producer.connect();
    // inproc has no handshake events; ZeroMQ attaches the pipe when the server connects.
    const connected = address().startsWith('inproc://') ? undefined : connections(producer, 1);
    const { received } = await worker({ endpoints: [{ address: boundAddress(producer), bind: false }] });
    await connected;
    await emit(producer, 'orders.created', { id: 2 });
    const [message] = await received.waitFor(1);
    expect(message.data).toEqual({ id: 2 });
  });

  it('routes object patterns by their normalized form and passes Buffers untouched', async () => {
    const { server, received } = await worker({ endpoints: [LOOPBACK_ANY_PORT] });
    const producer = client({ endpoints: [boundAddress(server)] });
    const bytes = Buffer.from([0, 1, 2, 255, 254]);
    // Keys in another order than the handler's: Nest's normalization makes them equal.
    await emit(producer, { version: 1, cmd: 'audit' }, { who: 'ada' });
    await emit(producer, 'payments.settled', bytes);
    const messages = await received.waitFor(2);
    expect(messages[0].context.getPattern()).toBe('{"cmd":"audit","version":1}');
    expect(messages[0].data).toEqual({ who: 'ada' });
    expect(Buffer.isBuffer(messages[1].data)).toBe(true);
    expect(messages[1].data).toEqual(bytes);
  });

  it('carries packet metadata from setOnDispatchHook to ZeroMqContext.getMetadata()', async () => {
    const { server, received } = await worker({ endpoints: [LOOPBACK_ANY_PORT] });
    const producer = client({ endpoints: [boundAddress(server)] });
    producer.setOnDispatchHook((packet) => {
      packet.metadata = { traceId: 'abc-123', tenant: 'acme' };
    });
    await emit(producer, 'orders.created', { id: 3 });
    const [message] = await received.waitFor(1);
    expect(message.context.getMetadata()).toEqual({ traceId: 'abc-123', tenant: 'acme' });
  });

  it('takes 20,000 concurrent emits without EBUSY or loss, in order', async () => {
    const total = 20_000;
    const { server, received } = await worker({ endpoints: [LOOPBACK_ANY_PORT] });
    const producer = client({ endpoints: [boundAddress(server)], maxQueueSize: total });
    const emits = Array.from({ length: total }, (_, seq) => emit(producer, 'orders.created', { seq }));
    await within(Promise.all(emits), 20_000, 'all emits to be sent');
    const messages = await received.waitFor(total, 20_000);
    expect(messages.map((m) => (m.data as { seq: number }).seq)).toEqual(Array.from({ length: total }, (_, seq) => seq));
    const metrics = producer.getMetrics();
    expect(metrics).toMatchObject({ sent: total, failed: 0, queued: 0 });
    // Queued emits leave in shared ZeroMQ messages.
    expect(metrics.batches).toBeLessThan(total / 10);
    await eventually(
      () => server.getMetrics(),
      (m) => m.handled === total,
    );
    expect(server.getMetrics()).toMatchObject({ received: total, handled: total, failed: 0, malformed: 0, undecodable: 0 });
  });

  it('shares the load between two workers on one producer: each message to the next worker in turn', async () => {
    const total = 400;
    const first = await worker({ endpoints: [LOOPBACK_ANY_PORT] });
    const second = await worker({ endpoints: [LOOPBACK_ANY_PORT] });
    const producer = client({ endpoints: [boundAddress(first.server), boundAddress(second.server)] });
    const connected = connections(producer, 2);
    await producer.connect();
    await connected;
    // One emit at a time: each leaves in a ZeroMQ message of its own, and PUSH deals messages to its
    // peers in turn. (Concurrent emits share messages of any size, so their split depends on timing.)
    for (let seq = 0; seq < total; seq++) {
      await emit(producer, 'orders.created', { seq });
    }
    await eventually(
      () => first.received.items.length + second.received.items.length,
      (n) => n === total,
      10_000,
    );
    const seqs = (w: Worker) => w.received.items.map((item) => (item.data as { seq: number }).seq);
    const [even, odd] = seqs(first)[0] === 0 ? [first, second] : [second, first];
    expect(seqs(even)).toEqual(Array.from({ length: total / 2 }, (_, i) => 2 * i));
    expect(seqs(odd)).toEqual(Array.from({ length: total / 2 }, (_, i) => 2 * i + 1));
  });

  it('never delays other patterns behind a slow route: each route has its own socket, queue and concurrency', async () => {
    let release = () => {};
    const reportsHeld = new Promise<void>((resolve) => (release = resolve));

    @Controller()
    class ReportsAndOrdersController {
      constructor(@Inject(RECEIVED) private readonly seen: Collector<Received>) {}

      @EventPattern('reports.generate')
      async report(@Payload() data: unknown): Promise<void> {
        this.seen.add({ pattern: 'reports.generate', data, context: undefined as never });
        await reportsHeld;
      }

      @EventPattern('orders.created')
      order(@Payload() data: unknown): void {
        this.seen.add({ pattern: 'orders.created', data, context: undefined as never });
      }
    }

    const route = { name: 'reports', patterns: ['reports.generate'] };
    const { server, received } = await worker(
      { endpoints: [LOOPBACK_ANY_PORT], concurrency: 1, routes: [{ ...route, endpoints: [LOOPBACK_ANY_PORT], concurrency: 1 }] },
      [ReportsAndOrdersController],
    );
    const producer = client({ endpoints: [boundAddress(server)], routes: [{ ...route, endpoints: [boundAddress(server, 'reports')] }] });
    try {
      await Promise.all(Array.from({ length: 5 }, (_, seq) => emit(producer, 'reports.generate', { seq })));
      await Promise.all(Array.from({ length: 100 }, (_, seq) => emit(producer, 'orders.created', { seq })));
      const patterns = () => received.items.map((item) => item.pattern);
      // Every order handled while the first report still runs and the other four wait behind it.
      await eventually(patterns, (seen) => seen.filter((pattern) => pattern === 'orders.created').length === 100);
      expect(patterns().filter((pattern) => pattern === 'reports.generate')).toHaveLength(1);
    } finally {
      release();
    }
    await received.waitFor(105);
  });

  it('counts a handler that throws as failed, logs it and does not run it again (at most once)', async () => {
    let runs = 0;

    @Controller()
    class ThrowingController {
      @EventPattern('orders.created')
      order(@Payload() _data: unknown): void {
        runs++;
        throw new Error('handler failed');
      }
    }

    const { server } = await worker({ endpoints: [LOOPBACK_ANY_PORT] }, [ThrowingController]);
    const producer = client({ endpoints: [boundAddress(server)] });
    await Promise.all(Array.from({ length: 3 }, (_, seq) => emit(producer, 'orders.created', { seq })));
    await eventually(
      () => server.getMetrics().failed,
      (failed) => failed === 3,
    );
    expect(server.getMetrics()).toMatchObject({ received: 3, handled: 0, failed: 3 });
    expect(runs).toBe(3);
  });

  it('binds @EventPattern(pattern, ZEROMQ_TRANSPORT) handlers to this server only in a hybrid app', async () => {
    const received = new Collector<Received>();

    @Controller()
    class HybridController {
      constructor(@Inject(RECEIVED) private readonly seen: Collector<Received>) {}

      @EventPattern('orders.created', ZEROMQ_TRANSPORT)
      fromZeroMq(@Payload() data: unknown): void {
        this.seen.add({ pattern: 'orders.created', data, context: undefined as never });
      }

      @EventPattern('payments.settled', Transport.TCP)
      fromTcpOnly(@Payload() data: unknown): void {
        this.seen.add({ pattern: 'payments.settled', data, context: undefined as never });
      }
    }

    @Module({ controllers: [HybridController], providers: [{ provide: RECEIVED, useValue: received }] })
    class HybridModule {}

    const app = await NestFactory.create(HybridModule, { logger: TEST_LOG_LEVELS });
    const server = new ZeroMqServer({ endpoints: [LOOPBACK_ANY_PORT] });
    app.connectMicroservice({ strategy: server });
    await app.startAllMicroservices();
    try {
      const producer = client({ endpoints: [boundAddress(server)] });
      await emit(producer, 'payments.settled', { amount: 1 });
      await emit(producer, 'orders.created', { id: 9 });
      expect((await received.waitFor(1)).map((m) => m.pattern)).toEqual(['orders.created']);
      await eventually(
        () => server.getMetrics().unknownPattern,
        (n) => n === 1,
      );
    } finally {
      await app.close();
    }
  });
});
