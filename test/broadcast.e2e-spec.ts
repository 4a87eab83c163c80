import { Controller, Inject } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { firstValueFrom } from 'rxjs';
import { ZeroMqClient, type ZeroMqContext, type ZeroMqServerOptions } from 'nestjs-zeromq';
import { writeKeyPair } from '../libs/nestjs-zeromq/src/cli/keygen.js';
import {
  appliedPrices,
  assertAppsBuilt,
  postPrice,
  REPO_ROOT,
  waitForPriceSubscribers,
  workerSummary,
} from '../scripts/lib/sample-apps.js';
import { childApps, expectCleanExit } from './helpers/child-apps.js';
import { itNeeding } from './helpers/needs-tool.js';
import { PYTHON, PYTHON_EXAMPLES, pyzmqMissing } from './helpers/pyzmq.js';
import { RECEIVED, startWorker, type Received, type Worker } from './helpers/nest-apps.js';
import { Collector, eventually, within } from './helpers/waiting.js';

const CLI = join(REPO_ROOT, 'libs/nestjs-zeromq/dist/cli/main.js');
const ANY_LOOPBACK_PORT = 'tcp://127.0.0.1:*';

const withPyzmq = itNeeding('pyzmq', pyzmqMissing());

/** A subscriber's handler for every `prices.*` broadcast; `slow` makes it take a while per record. */
@Controller()
class PriceController {
  static delayMs = 0;
  constructor(@Inject(RECEIVED) private readonly received: Collector<Received>) {}

  @EventPattern<string>('prices.*')
  async onPrice(@Payload() data: unknown, @Ctx() context: ZeroMqContext): Promise<void> {
    if (PriceController.delayMs > 0 && context.getSocketName() === 'slow') {
      await new Promise((resolve) => setTimeout(resolve, PriceController.delayMs));
    }
    this.received.add({ pattern: context.getPattern(), data, context });
  }
}

describe('broadcast (pub-sub) across processes', () => {
  const apps = childApps();
  const workers: Worker[] = [];
  const clients: ZeroMqClient[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'nzmq-broadcast-'));
  beforeAll(assertAppsBuilt);
  afterEach(async () => {
    PriceController.delayMs = 0;
    await Promise.all(clients.splice(0).map((client) => client.close()));
    await Promise.all(workers.splice(0).map((worker) => worker.app.close()));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const subscriber = async (options: Omit<ZeroMqServerOptions, 'kind'>) => {
    const worker = await startWorker({ kind: 'pub-sub', ...options }, [PriceController]);
    workers.push(worker);
    return worker;
  };
  const publisher = (client: ZeroMqClient) => {
    clients.push(client);
    return client;
  };
  const emit = (client: ZeroMqClient, pattern: string, data: unknown) =>
    firstValueFrom(client.emit(pattern, data), { defaultValue: undefined });

  it('3 worker processes (one a hybrid app) each apply every one of N price broadcasts from the producer, in order', async () => {
    const producer = await apps.producer({ endpoints: [ANY_LOOPBACK_PORT], bind: true, broadcastEndpoints: [ANY_LOOPBACK_PORT] });
    const workerApps = await Promise.all(
      [1, 2, 3].map((index) =>
        apps.worker({
          name: `subscriber-${index}`,
          endpoints: producer.sockets.default,
          bind: false,
          broadcastEndpoints: producer.sockets.prices,
          // One of them a hybrid app (HTTP beside ZeroMQ).
          ...(index === 1 ? { httpPort: 0 } : {}),
        }),
      ),
    );
    expect(workerApps[0].url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    await waitForPriceSubscribers(producer.url, 3);
    const count = 40;
    for (let price = 1; price <= count; price++) {
      const answer = await postPrice(producer.url, 'sku-1', price);
      expect(answer).toEqual({ status: 202, body: expect.objectContaining({ sku: 'sku-1', unitPrice: price, subscribers: 3 }) });
    }
    for (const worker of workerApps) {
      await worker.process.waitFor(
        (line) => line.message.startsWith(`Price of sku-1 is now ${count} `),
        15_000,
        `the last price at ${worker.process.name}`,
      );
      expect(appliedPrices(worker.process.lines).map((change) => change.unitPrice)).toEqual(
        Array.from({ length: count }, (_, index) => index + 1),
      );
    }
    for (const worker of workerApps) {
      await expectCleanExit(worker.process, worker.process.stop());
      expect(workerSummary(worker.process)).toMatchObject({
        received: count,
        handled: count,
        byPattern: `prices.changed ${count}`,
        failed: 0,
      });
    }
  });

  it('a slow subscriber loses what is past its high-water mark (counted) and slows neither the publisher nor the fast ones', async () => {
    const tight = { receiveHighWaterMark: 5, prefetch: 5, concurrency: 1 };
    const fast = [await subscriber({ endpoints: [ANY_LOOPBACK_PORT] }), await subscriber({ endpoints: [ANY_LOOPBACK_PORT] })];
    const slow = await subscriber({
      routes: [{ name: 'slow', patterns: ['prices.*'], endpoints: [ANY_LOOPBACK_PORT], kind: 'pub-sub' }],
      ...tight,
    });
    PriceController.delayMs = 50;
    const endpoints = [...fast.map((worker) => worker.server.getAddresses().default[0]), slow.server.getAddresses().slow[0]];
    const client = publisher(new ZeroMqClient({ kind: 'pub-sub', endpoints, maxBatchSize: 1 }));
    await client.waitForSubscribers('prices.changed', 3, 5_000);
    // More than the slow subscriber's share of buffers can hold: its pipe at the publisher
    // (sendHighWaterMark, 1000 messages by default for a publisher), the kernel's socket buffers and its own small queues.
    const count = 4_000;
    const payload = 'x'.repeat(8 * 1024);
    // In windows: the fast subscribers share this process's event loop with the publisher, so
    // each window waits until they are at most 200 behind (fast subscribers in processes of their
    // own would not need that). The slow one is not waited for.
    const fastBehind = (start: number) => Math.max(...fast.map(({ received }) => start - received.items.length));
    for (let start = 0; start < count; start += 50) {
      await eventually(
        () => fastBehind(start),
        (behind) => behind <= 200,
        10_000,
      );
      await Promise.all(Array.from({ length: 50 }, (_, index) => emit(client, 'prices.changed', { seq: start + index, payload })));
    }
    // Every emit was taken: a publisher never waits for, nor fails because of, a slow subscriber.
    expect(client.getMetrics()).toMatchObject({ sent: count, failed: 0, queued: 0 });
    for (const { received } of fast) {
      expect((await received.waitFor(count)).map((item) => (item.data as { seq: number }).seq)).toEqual(
        Array.from({ length: count }, (_, seq) => seq),
      );
    }
    // The slow one catches up with what reached it. Its pipe at the publisher stays full until it
    // has: markers are sent (at most 400, 50 ms apart) until one gets through, and the last one
    // shows it the gap before it.
    PriceController.delayMs = 0;
    const lastSeen = () => (slow.received.items.at(-1)?.data as { seq: number } | undefined)?.seq ?? -1;
    let marker = count;
    for (; lastSeen() < count && marker < count + 400; marker++) {
      await emit(client, 'prices.changed', { seq: marker, payload: '' });
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const lastMarker = marker - 1;
    await eventually(lastSeen, (seq) => seq === lastMarker, 10_000);
    await eventually(
      () => slow.server.getMetrics(),
      (metrics) => metrics.inFlight === 0 && metrics.handled === slow.received.items.length,
    );
    const { handled, missed } = slow.server.getMetrics();
    expect(missed).toBeGreaterThan(0);
    expect(handled).toBeLessThan(count);
    expect(handled + missed).toBe(lastMarker + 1);
    expect(fast.map((worker) => worker.server.getMetrics().missed)).toEqual([0, 0]);
  });

  it('the CLI proxy (nestjs-zeromq proxy, CURVE both sides) carries 2 publishers to 3 subscribers; an unlisted publisher gets nothing through', async () => {
    const [proxyKeys, subscriberKeys, publisherKeys, strangerKeys] = ['proxy', 'subscriber', 'publisher', 'stranger'].map((name) =>
      writeKeyPair(join(dir, name)),
    );
    const proxy = apps.command('proxy', process.execPath, [
      CLI,
      'proxy',
      '--frontend',
      ANY_LOOPBACK_PORT,
      '--backend',
      ANY_LOOPBACK_PORT,
      '--secret-key-file',
      proxyKeys.secretKeyFile,
      '--subscriber-public-key',
      subscriberKeys.publicKeyFile,
      '--allow-publisher',
      publisherKeys.publicKey,
    ]);
    const ready = await proxy.waitFor((line) => line.message.startsWith('Broadcast proxy: '), 10_000, 'the proxy to bind');
    const [, frontend, backend] = /publishers connect to (\S+); subscribers to (\S+)$/.exec(ready.message)!;
    const curveTo = (keys: { secretKeyFile: string }) => ({
      secretKey: { file: keys.secretKeyFile },
      serverPublicKey: proxyKeys.publicKey,
    });
    const publishers = [0, 1].map(() =>
      publisher(new ZeroMqClient({ kind: 'pub-sub', endpoints: [frontend], curve: curveTo(publisherKeys) })),
    );
    const stranger = publisher(new ZeroMqClient({ kind: 'pub-sub', endpoints: [frontend], curve: curveTo(strangerKeys) }));
    // Publishers first: one that connects after the subscribers hears each prefix once (docs/topologies.md).
    const connected = async (client: ZeroMqClient) => {
      const handshake = within(new Promise((resolve) => client.on('handshake', resolve)), 5_000, 'a publisher at the proxy');
      await client.connect();
      await handshake;
    };
    await Promise.all(publishers.map(connected));
    const subscriberCurve = { secretKey: { file: subscriberKeys.secretKeyFile }, allowClients: [proxyKeys.publicKey] };
    const subscribers = await Promise.all(
      [0, 1, 2].map(() => subscriber({ endpoints: [{ address: backend, bind: false }], curve: subscriberCurve })),
    );
    await Promise.all(publishers.map((client) => client.waitForSubscribers('prices.changed', 3, 5_000)));
    // The stranger is refused at the handshake: with no ZMTP session, nothing it sends can pass the
    // proxy, whenever one looks. That (not the absence of its message once the others' arrived) is the proof.
    let strangerSessions = 0;
    stranger.on('handshake', () => strangerSessions++);
    const refused = within(
      new Promise((resolve) => stranger.on('handshake:error', resolve)),
      10_000,
      "the proxy's refusal of the stranger",
    );
    await stranger.connect();
    await refused;
    const count = 200;
    await Promise.all([
      emit(stranger, 'prices.changed', { from: 'stranger', seq: 0 }),
      ...publishers.flatMap((client, p) =>
        Array.from({ length: count }, (_, seq) => emit(client, 'prices.changed', { from: `p${p}`, seq })),
      ),
    ]);
    for (const { received } of subscribers) {
      const changes = (await received.waitFor(2 * count)).map((item) => item.data as { from: string; seq: number });
      for (const from of ['p0', 'p1']) {
        expect(changes.filter((change) => change.from === from).map((change) => change.seq)).toEqual(
          Array.from({ length: count }, (_, seq) => seq),
        );
      }
      expect(changes.filter((change) => change.from === 'stranger')).toEqual([]);
    }
    expect(strangerSessions).toBe(0);
    // The proxy logs the rejection when ZAP answers, which may come after the others' messages arrived.
    await proxy.waitFor(
      (line) => line.message.includes('Rejected CURVE publisher'),
      10_000,
      "the proxy's rejection of the unlisted publisher",
    );
    expect(proxy.matching((line) => line.message.includes('Rejected CURVE publisher')).length).toBeGreaterThan(0);
    await expectCleanExit(proxy, proxy.stop());
  });

  withPyzmq('a Python pyzmq publisher feeds our subscriber: [topic, payload] routed by its topic (plainMessages)', async () => {
    const feed = apps.command('price_feed.py', PYTHON, [
      join(PYTHON_EXAMPLES, 'price_feed.py'),
      ANY_LOOPBACK_PORT,
      '--count',
      '20',
      '--subscribers',
      '1',
    ]);
    const listening = await feed.waitFor((line) => line.message.startsWith('listening on '), 10_000, 'the feed to bind');
    const { received, server } = await subscriber({
      endpoints: [{ address: listening.message.slice('listening on '.length), bind: false }],
      plainMessages: { pattern: 'prices.plain', decoding: 'json' },
    });
    await expectCleanExit(feed);
    const items = await received.waitFor(20);
    expect(items.map((item) => (item.data as { unitPrice: number }).unitPrice)).toEqual(
      Array.from({ length: 20 }, (_, index) => index + 1),
    );
    expect(items.every((item) => item.pattern === 'prices.changed' && item.context.isPlainMessage())).toBe(true);
    expect(server.getMetrics()).toMatchObject({ malformed: 0, undecodable: 0 });
  });

  withPyzmq('our publisher feeds a Python pyzmq subscriber: single records, packed batches and a bare route', async () => {
    const listener = apps.command('price_listener.py', PYTHON, [
      join(PYTHON_EXAMPLES, 'price_listener.py'),
      ANY_LOOPBACK_PORT,
      '--count',
      '12',
    ]);
    const listening = await listener.waitFor((line) => line.message.startsWith('listening on '), 10_000, 'the listener to bind');
    const address = listening.message.slice('listening on '.length);
    const client = publisher(
      new ZeroMqClient({
        kind: 'pub-sub',
        endpoints: [address],
        routes: [{ name: 'bare', kind: 'pub-sub', patterns: ['prices.bare'], endpoints: [address], bare: true }],
      }),
    );
    await client.waitForSubscribers('prices.changed', 1, 5_000);
    await client.waitForSubscribers('prices.bare', 1, 5_000);
    await emit(client, 'prices.changed', { seq: 0 });
    // Emitted in one turn: they leave as one packed message.
    await Promise.all(Array.from({ length: 10 }, (_, index) => emit(client, 'prices.changed', { seq: index + 1 })));
    await emit(client, 'prices.bare', { seq: 11 });
    await expectCleanExit(listener);
    const lines = listener.lines
      .slice(1)
      .map((line) => JSON.parse(line.message) as { topic: string; pattern: string; data: { seq: number } });
    const seen = lines.map((line) => `${line.topic} ${line.pattern} ${line.data.seq}`);
    // In order per socket; the bare route is a socket of its own, so its message may come first.
    expect(seen.filter((line) => line.startsWith('prices.changed'))).toEqual(
      Array.from({ length: 11 }, (_, seq) => `prices.changed prices.changed ${seq}`),
    );
    expect(seen.filter((line) => line.startsWith('prices.bare'))).toEqual(['prices.bare prices.bare 11']);
    expect(client.getMetrics().batches).toBeLessThan(12);
  });
});
