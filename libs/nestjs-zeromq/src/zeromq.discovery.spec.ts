import { Controller, Inject } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import getPort from 'get-port';
import { firstValueFrom } from 'rxjs';
import { TestDnsServer } from '../test/dns-server.js';
import { RECEIVED, startWorker, type Received, type Worker } from '../test/nest-apps.js';
import { Collector, eventually, within } from '../test/waiting.js';
import { WildcardController } from '../test/wildcard-controller.js';
import { ZeroMqClient } from './zeromq.client.js';
import type { ZeroMqContext } from './zeromq.context.js';
import { ZeroMqOptionsError } from './zeromq.errors.js';
import type { ZeroMqClientOptions, ZeroMqDiscoveryOptions } from './zeromq.options.js';
import { ZeroMqServer } from './zeromq.server.js';

const NAME = 'workers.orders.test';
const SRV_NAME = `_zmq._tcp.${NAME}`;
/** Re-resolution every 200 ms: "within the interval" stays short; every wait below has a timeout. */
const INTERVAL = 200;

/** A job handler that takes `work` ms and records each start with the attempt. */
@Controller()
class JobsController {
  constructor(@Inject(RECEIVED) private readonly received: Collector<Received>) {}

  @EventPattern<string>('jobs')
  async job(@Payload() job: { seq: number; work?: number }, @Ctx() context: ZeroMqContext): Promise<void> {
    if (job.work) {
      await new Promise((resolve) => setTimeout(resolve, job.work));
    }
    this.received.add({ pattern: 'jobs', data: job, context });
  }
}

const seqs = (worker: Worker) => worker.received.items.map((item) => (item.data as { seq: number }).seq);

describe('DNS discovery on sockets (workers on 127.0.0.x, a DNS server on 127.0.0.1)', () => {
  let dns: TestDnsServer;
  const workers: Worker[] = [];
  const clients: ZeroMqClient[] = [];

  const discovery = (): ZeroMqDiscoveryOptions => ({
    servers: [dns.address],
    interval: INTERVAL,
    jitter: 0.1,
    minRefreshInterval: 50,
    queryTimeout: 300,
    queryTries: 1,
  });

  /** A worker bound on `ip` (port `port`, or an OS-chosen one), running JobsController. */
  async function worker(
    ip: string,
    port: number | '*',
    kind: 'push-pull' | 'dealer-router' = 'push-pull',
    concurrency = 8,
  ): Promise<Worker> {
    const started = await startWorker(
      { endpoints: [`tcp://${ip}:${port}`], kind, concurrency, heartbeat: { interval: 100, timeout: 500 } },
      [JobsController],
    );
    workers.push(started);
    return started;
  }

  function client(options: ZeroMqClientOptions): ZeroMqClient {
    const created = new ZeroMqClient({ discovery: discovery(), heartbeat: { interval: 100, timeout: 500 }, ...options });
    clients.push(created);
    return created;
  }

  const emit = (producer: ZeroMqClient, from: number, count: number, work = 0) =>
    Promise.all(
      Array.from({ length: count }, (_, i) => firstValueFrom(producer.emit('jobs', { seq: from + i, work }), { defaultValue: undefined })),
    );

  beforeEach(async () => {
    dns = await TestDnsServer.start();
  });

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((producer) => producer.close()));
    await Promise.all(workers.splice(0).map((started) => started.app.close()));
    await dns.close();
  });

  describe('options', () => {
    it('refuses to bind a discovery endpoint, and a malformed one, with the socket named', () => {
      expect(() => new ZeroMqClient({ endpoints: [{ address: `tcp+dns://${NAME}:5557`, bind: true }] })).toThrow(
        /socket "default" would bind tcp\+dns:\/\/workers.orders.test:5557; a discovery endpoint names peers to connect to: set bind: false/,
      );
      expect(() => new ZeroMqServer({ endpoints: [`tcp+srv://${SRV_NAME}`] })).toThrow(ZeroMqOptionsError);
      expect(() => new ZeroMqClient({ endpoints: ['tcp+srv://workers.orders.test'] })).toThrow(
        /socket "default": Invalid discovery endpoint .*_<service>\._tcp\./,
      );
      expect(() => new ZeroMqClient({ endpoints: ['tcp+dns://workers:port'] })).toThrow(ZeroMqOptionsError);
    });

    it('checks the discovery option (misspelt keys, out-of-range values)', () => {
      const endpoints = [`tcp+dns://${NAME}:5557`];
      expect(() => new ZeroMqClient({ endpoints, discovery: { intervall: 5 } as never })).toThrow(/discovery/);
      expect(() => new ZeroMqClient({ endpoints, discovery: { jitter: 0.9 } })).toThrow(/discovery\.jitter/);
      expect(() => new ZeroMqClient({ endpoints, discovery: { interval: 1_000, emptyAnswer: 'apply' } })).not.toThrow();
    });
  });

  describe('PUSH (one socket, connected to every address the name lists)', () => {
    it('brings an added worker into rotation, takes a removed one out, keeps the last set when DNS fails', async () => {
      const port = await getPort({ host: '127.0.0.2' });
      const [w2, w3, w4] = [await worker('127.0.0.2', port), await worker('127.0.0.3', port), await worker('127.0.0.4', port)];
      dns.setA(NAME, ['127.0.0.2', '127.0.0.3']);
      // One emit per ZeroMQ message, so that PUSH's round-robin shows in every worker's share.
      const producer = client({ endpoints: [`tcp+dns://${NAME}:${port}`], maxBatchSize: 1 });
      await producer.connect();
      expect(producer.getAddresses().default.sort()).toEqual([`tcp://127.0.0.2:${port}`, `tcp://127.0.0.3:${port}`]);
      await eventually(
        () => producer.getMetrics().connections.default,
        (count) => count === 2,
      );
      await emit(producer, 0, 200);
      await w2.received.waitFor(1);
      await w3.received.waitFor(1);

      // Added: in rotation at the next resolution.
      dns.setA(NAME, ['127.0.0.2', '127.0.0.3', '127.0.0.4']);
      await eventually(
        () => producer.getMetrics().connections.default,
        (count) => count === 3,
        5 * INTERVAL + 2_000,
      );
      await emit(producer, 200, 300);
      await within(w4.received.waitFor(1), 5_000, 'the added worker to get jobs');

      // Removed: out of rotation at the next resolution.
      dns.setA(NAME, ['127.0.0.3', '127.0.0.4']);
      await eventually(
        () => producer.getAddresses().default.length,
        (count) => count === 2,
        5 * INTERVAL + 2_000,
      );
      await eventually(
        () => producer.getMetrics().connections.default,
        (count) => count === 2,
      );
      const w2Before = w2.received.items.length;
      await emit(producer, 500, 300);
      await eventually(
        () => w3.received.items.length + w4.received.items.length + w2.received.items.length,
        (total) => total >= 800,
      );
      expect(w2.received.items.length).toBe(w2Before);
      expect(producer.getMetrics().discovery).toEqual({ resolutionFailures: 0, peers: 2 });

      // DNS fails: the last set is kept and the failures counted.
      dns.mode = 'servfail';
      await eventually(
        () => producer.getMetrics().discovery!.resolutionFailures,
        (failures) => failures >= 2,
        5 * INTERVAL + 2_000,
      );
      const [w3Before, w4Before] = [w3.received.items.length, w4.received.items.length];
      await emit(producer, 800, 300);
      await eventually(
        () => w3.received.items.length + w4.received.items.length - w3Before - w4Before,
        (total) => total === 300,
      );
      expect(w3.received.items.length).toBeGreaterThan(w3Before);
      expect(w4.received.items.length).toBeGreaterThan(w4Before);
      expect(producer.getMetrics().discovery!.peers).toBe(2);
      expect(producer.getAddresses().default.sort()).toEqual([`tcp://127.0.0.3:${port}`, `tcp://127.0.0.4:${port}`]);
    });

    it('resolves again at once when a peer disconnects', async () => {
      const port = await getPort({ host: '127.0.0.2' });
      const w2 = await worker('127.0.0.2', port);
      dns.setA(NAME, ['127.0.0.2']);
      const producer = client({ endpoints: [`tcp+dns://${NAME}:${port}`], discovery: { ...discovery(), interval: 60_000 } });
      await producer.connect();
      await eventually(
        () => producer.getMetrics().connections.default,
        (count) => count === 1,
      );
      const queries = dns.queryCount('A', NAME);
      await w2.app.close();
      workers.splice(workers.indexOf(w2), 1);
      // The interval is a minute: only the disconnect can make it ask again.
      await eventually(
        () => dns.queryCount('A', NAME),
        (count) => count > queries,
        5_000,
      );
    });
  });

  describe('DEALER routes (one outbox per address)', () => {
    const srv = (...workers: Array<{ ip: string; port: number }>) => {
      for (const { ip } of workers) {
        dns.setA(`w-${ip}.test`, [ip]);
      }
      dns.setSrv(
        SRV_NAME,
        workers.map(({ ip, port }) => ({ target: `w-${ip}.test`, port })),
      );
    };
    const portOf = (started: Worker) => Number(/:(\d+)$/.exec(started.server.getAddresses().default[0])![1]);

    it('at-least-once: outboxes follow the SRV records; a removed worker finishes what it holds, nothing is lost or repeated', async () => {
      const w2 = await worker('127.0.0.2', '*', 'dealer-router', 4);
      const w3 = await worker('127.0.0.3', '*', 'dealer-router', 4);
      const w4 = await worker('127.0.0.4', '*', 'dealer-router', 4);
      const at = (started: Worker, ip: string) => ({ ip, port: portOf(started) });
      srv(at(w2, '127.0.0.2'), at(w3, '127.0.0.3'));
      const producer = client({ endpoints: [`tcp+srv://${SRV_NAME}`], delivery: 'at-least-once', maxQueueSize: 5_000 });
      await producer.connect();
      expect(Object.keys(producer.getAddresses()).sort()).toEqual([`default@127.0.0.2:${portOf(w2)}`, `default@127.0.0.3:${portOf(w3)}`]);

      const first = emit(producer, 0, 400, 5);
      await w2.received.waitFor(20);
      srv(at(w2, '127.0.0.2'), at(w3, '127.0.0.3'), at(w4, '127.0.0.4'));
      await within(w4.received.waitFor(1), 5 * INTERVAL + 5_000, 'the added worker to get deliveries');
      // w2 leaves DNS with deliveries in flight: it finishes them (no resend), then its DEALER closes.
      srv(at(w3, '127.0.0.3'), at(w4, '127.0.0.4'));
      await eventually(
        () => Object.keys(producer.getAddresses()),
        (names) => !names.some((name) => name.includes('127.0.0.2')),
        5 * INTERVAL + 5_000,
      );
      const w2Count = w2.received.items.length;
      await within(first, 20_000, 'every job acked');
      await within(emit(producer, 400, 200, 1), 20_000, 'more jobs acked');
      expect(w2.received.items.length).toBe(w2Count);
      const handled = [...seqs(w2), ...seqs(w3), ...seqs(w4)];
      expect(new Set(handled).size).toBe(600);
      expect(handled.length).toBe(600);
      expect(producer.getMetrics()).toMatchObject({ acked: 600, unacked: 0, redelivered: 0, deadLettered: 0 });
    });

    it('at-most-once emits and requests fail at once with a clear error while the name lists no peer', async () => {
      dns.setSrv(SRV_NAME, []);
      const producer = client({ endpoints: [`tcp+srv://${SRV_NAME}`], kind: 'dealer-router' });
      await producer.connect();
      await expect(firstValueFrom(producer.emit('jobs', { seq: 1 }))).rejects.toThrow(
        /no peer yet: tcp\+srv:\/\/_zmq\._tcp\.workers\.orders\.test resolved to no address/,
      );
      await expect(firstValueFrom(producer.send('jobs', { seq: 1 }))).rejects.toThrow(/no peer yet/);
      expect(producer.getMetrics().discovery).toEqual({ resolutionFailures: 1, peers: 0 });
    });
  });

  it("'pub-sub': a publisher connects to the subscribers its name lists, and reaches an added one", async () => {
    const port = await getPort({ host: '127.0.0.2' });
    const subscribers: Worker[] = [];
    for (const ip of ['127.0.0.2', '127.0.0.3']) {
      subscribers.push(await startWorker({ kind: 'pub-sub', endpoints: [`tcp://${ip}:${port}`] }, [WildcardController]));
    }
    workers.push(...subscribers);
    dns.setA(NAME, ['127.0.0.2']);
    const publisher = client({ kind: 'pub-sub', endpoints: [`tcp+dns://${NAME}:${port}`] });
    await publisher.waitForSubscribers('prices.eu', 1, 5_000);
    dns.setA(NAME, ['127.0.0.2', '127.0.0.3']);
    await publisher.waitForSubscribers('prices.eu', 2, 5 * INTERVAL + 5_000);
    await firstValueFrom(publisher.emit('prices.eu', 'both'), { defaultValue: undefined });
    for (const { received } of subscribers) {
      expect((await received.waitFor(1))[0]).toMatchObject({ data: 'both' });
    }
    expect(publisher.getMetrics().discovery).toEqual({ resolutionFailures: 0, peers: 2 });
  });

  it('a connecting server follows a name too (the producers bind)', async () => {
    const port = await getPort({ host: '127.0.0.2' });
    const producers = [
      client({ endpoints: [{ address: `tcp://127.0.0.2:${port}`, bind: true }] }),
      client({ endpoints: [{ address: `tcp://127.0.0.3:${port}`, bind: true }] }),
    ];
    await Promise.all(producers.map((producer) => producer.connect()));
    dns.setA(NAME, ['127.0.0.2']);
    const consumer = await startWorker(
      {
        endpoints: [{ address: `tcp+dns://${NAME}:${port}`, bind: false }],
        discovery: discovery(),
        heartbeat: { interval: 100, timeout: 500 },
      },
      [JobsController],
    );
    workers.push(consumer);
    expect(consumer.server.getAddresses().default).toEqual([`tcp://127.0.0.2:${port}`]);
    await within(emit(producers[0], 0, 10), 5_000, 'the first producer to reach the worker');
    dns.setA(NAME, ['127.0.0.2', '127.0.0.3']);
    await eventually(
      () => consumer.server.getMetrics().connections.default,
      (count) => count === 2,
      5 * INTERVAL + 2_000,
    );
    await within(emit(producers[1], 10, 10), 5_000, 'the second producer to reach the worker');
    await consumer.received.waitFor(20);
    expect(consumer.server.getMetrics().discovery).toEqual({ resolutionFailures: 0, peers: 2 });
  });
});
