import { ServiceUnavailableException } from '@nestjs/common';
import { HealthCheckService, TerminusModule, type HealthCheckResult } from '@nestjs/terminus';
import { Test, type TestingModule } from '@nestjs/testing';
import { ZeroMqClient } from '../zeromq.client.js';
import { ipcDir, LOOPBACK_ANY_PORT } from '../../test/endpoints.js';
import { boundAddress, startWorker, type Worker } from '../../test/nest-apps.js';
import { eventually } from '../../test/waiting.js';
import { ZeroMqHealthIndicator } from './zeromq.health-indicator.js';

/** The body terminus answers with: the result when healthy, the 503's response when not. */
async function checkHealth(health: HealthCheckService, run: () => Promise<HealthCheckResult>): Promise<HealthCheckResult> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof ServiceUnavailableException) {
      return error.getResponse() as HealthCheckResult;
    }
    throw error;
  }
}

describe('ZeroMqHealthIndicator through a real HealthCheckService', () => {
  let module: TestingModule;
  let health: HealthCheckService;
  let indicator: ZeroMqHealthIndicator;
  const workers: Worker[] = [];
  const clients: ZeroMqClient[] = [];
  const ipc = ipcDir();

  beforeAll(async () => {
    module = await Test.createTestingModule({ imports: [TerminusModule], providers: [ZeroMqHealthIndicator] })
      .setLogger({ log: () => undefined, error: () => undefined, warn: () => undefined })
      .compile();
    health = module.get(HealthCheckService);
    indicator = module.get(ZeroMqHealthIndicator);
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close()));
    await Promise.all(workers.splice(0).map((worker) => worker.app.close()));
  });
  afterAll(async () => {
    await module.close();
    ipc.cleanup();
  });

  const worker = async () => {
    const started = await startWorker({ endpoints: [LOOPBACK_ANY_PORT] });
    workers.push(started);
    return started;
  };
  const dealerRouterWorker = async () => {
    const started = await startWorker({ endpoints: [LOOPBACK_ANY_PORT], kind: 'dealer-router' });
    workers.push(started);
    return started;
  };
  const client = (options: ConstructorParameters<typeof ZeroMqClient>[0]) => {
    const created = new ZeroMqClient(options);
    clients.push(created);
    return created;
  };

  it('is up with workers connected, and down for the client once every worker is gone', async () => {
    const [first, second] = [await worker(), await worker()];
    const producer = client({ endpoints: [boundAddress(first.server), boundAddress(second.server)] });
    await producer.connect();
    await eventually(
      () => producer.getMetrics().connections.default,
      (count) => count === 2,
    );
    // The worker's monitor reports its accept on its own schedule.
    await eventually(
      () => first.server.getMetrics().connections.default,
      (count) => count === 1,
    );
    const check = () =>
      checkHealth(health, () => health.check([() => indicator.check('producer', producer), () => indicator.check('worker', first.server)]));

    const healthy = await check();
    expect(healthy.status).toBe('ok');
    expect(healthy.details).toEqual({
      producer: { status: 'up', state: 'connected', sockets: { default: { connections: 2, queued: 0, maxQueueSize: 100_000 } } },
      worker: {
        status: 'up',
        state: 'connected',
        sockets: {
          default: {
            connections: 1,
            reading: true,
            inFlight: 0,
            queued: 0,
            concurrency: 100,
            heldBytes: 0,
            receiveBudget: 64 * 1024 * 1024,
          },
        },
      },
    });

    await second.app.close();
    await eventually(
      () => producer.getMetrics().connections.default,
      (count) => count === 1,
    );
    expect((await check()).status).toBe('ok');

    await first.app.close();
    await eventually(
      () => producer.getMetrics().connections.default,
      (count) => count === 0,
    );
    const unhealthy = await check();
    expect(unhealthy.status).toBe('error');
    expect(unhealthy.error).toEqual({
      producer: expect.objectContaining({ status: 'down', message: 'socket "default" has no connected peer' }),
      worker: expect.objectContaining({ status: 'down', state: 'closed', message: 'status is closed', sockets: {} }),
    });
  });

  it('counts a worker without producers as healthy unless requireConnected is set', async () => {
    const { server } = await worker();
    expect((await checkHealth(health, () => health.check([() => indicator.check('worker', server)]))).status).toBe('ok');
    const strict = await checkHealth(health, () => health.check([() => indicator.check('worker', server, { requireConnected: true })]));
    expect(strict.error?.worker).toMatchObject({ status: 'down', message: 'socket "default" has no connected peer' });
  });

  it('is down while a send queue is full', async () => {
    // Nobody listens here: emits wait for a peer until sendTimeout, so the queue fills up.
    const producer = client({ endpoints: [ipc.address('nobody')], maxQueueSize: 3, sendTimeout: 20_000, closeTimeout: 100 });
    await producer.connect();
    const failures: unknown[] = [];
    const emit = (i: number) => producer.emit('orders.created', { i }).subscribe({ error: (error: unknown) => failures.push(error) });
    // The first emit is handed to ZeroMQ (and waits there); the next ones queue behind it.
    emit(0);
    // It leaves the queue on the next turn of the event loop (the send queue batches per turn).
    await eventually(
      () => producer.getQueueStates().default.queued,
      (queued) => queued === 0,
    );
    expect(producer.getMetrics().queued).toBe(1);
    for (let i = 1; i <= 4; i++) {
      emit(i);
    }
    await eventually(
      () => failures.length,
      (count) => count === 1,
    );
    expect(producer.getQueueStates().default.queued).toBe(3);
    const result = await checkHealth(health, () =>
      health.check([() => indicator.check('producer', producer, { requireConnected: false })]),
    );
    expect(result.error?.producer).toMatchObject({
      status: 'down',
      message: 'socket "default" has a full send queue (3 of maxQueueSize 3)',
      sockets: { default: { connections: 0, queued: 3, maxQueueSize: 3 } },
    });
  });

  it('connects a client nobody connected yet: up with a worker there, down without', async () => {
    const { server } = await worker();
    const producer = client({ endpoints: [boundAddress(server)] });
    const up = await checkHealth(health, () => health.check([() => indicator.check('producer', producer)]));
    expect(up.info?.producer).toMatchObject({ status: 'up', state: 'connected', sockets: { default: { connections: 1 } } });

    const lonely = client({ endpoints: [ipc.address('unused')], connectTimeout: 100 });
    const down = await checkHealth(health, () => health.check([() => indicator.check('producer', lonely)]));
    expect(down.error?.producer).toMatchObject({
      status: 'down',
      state: 'disconnected',
      message: 'socket "default" has no connected peer',
    });
  });

  it('checks the sockets of a route with several listed endpoints (default#1, default#2) under its name', async () => {
    const routers = [await dealerRouterWorker(), await dealerRouterWorker()];
    const producer = client({ kind: 'dealer-router', endpoints: routers.map((started) => boundAddress(started.server)) });
    await producer.connect();
    const result = await checkHealth(health, () => health.check([() => indicator.check('producer', producer, { sockets: ['default'] })]));
    expect(result.status).toBe('ok');
    expect(Object.keys(result.info?.producer?.sockets as object)).toEqual(['default#1', 'default#2']);
  });
});
