import { Controller, Inject } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { firstValueFrom } from 'rxjs';
import * as zmq from 'zeromq';
import { ZeroMqClient } from '../zeromq.client.js';
import type { ZeroMqClientCurveOptions, ZeroMqServerCurveOptions } from '../zeromq.curve.options.js';
import { ZeroMqBroadcastProxy } from './zeromq-broadcast-proxy.js';
import type { ZeroMqBroadcastProxyOptions } from './zeromq-broadcast-proxy.options.js';
import { RECEIVED, startWorker, type Received, type Worker } from '../../test/nest-apps.js';
import { LOOPBACK_ANY_PORT } from '../../test/endpoints.js';
import { Collector, within } from '../../test/waiting.js';

@Controller()
class TickController {
  constructor(@Inject(RECEIVED) private readonly received: Collector<Received>) {}

  @EventPattern('ticks.*')
  tick(@Payload() data: unknown): void {
    this.received.add({ pattern: 'ticks.*', data, context: undefined as never });
  }
}

interface Tick {
  from: string;
  seq: number;
}

describe('ZeroMqBroadcastProxy', () => {
  const workers: Worker[] = [];
  const clients: ZeroMqClient[] = [];
  const proxies: ZeroMqBroadcastProxy[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close()));
    await Promise.all(workers.splice(0).map((worker) => worker.app.close()));
    await Promise.all(proxies.splice(0).map((proxy) => proxy.close()));
  });

  const startProxy = async (options: Partial<ZeroMqBroadcastProxyOptions> = {}) => {
    const proxy = new ZeroMqBroadcastProxy({ frontend: [LOOPBACK_ANY_PORT], backend: [LOOPBACK_ANY_PORT], ...options });
    proxies.push(proxy);
    await proxy.start();
    return proxy.getAddresses();
  };
  const publisher = async (frontend: string, curve?: ZeroMqClientCurveOptions) => {
    const client = new ZeroMqClient({ kind: 'pub-sub', endpoints: [frontend], curve });
    clients.push(client);
    const connected = within(new Promise((resolve) => client.on('handshake', resolve)), 5_000, 'the publisher connected to the proxy');
    await client.connect();
    await connected;
    return client;
  };
  const subscriber = async (backend: string, curve?: ZeroMqServerCurveOptions) => {
    const worker = await startWorker({ kind: 'pub-sub', endpoints: [{ address: backend, bind: false }], curve }, [TickController]);
    workers.push(worker);
    return worker;
  };

  it('bounds what it queues in bytes: a frame above maxMessageSize is not forwarded (that publisher reconnects), the rest is', async () => {
    const { frontend, backend } = await startProxy({ maxMessageSize: 64 * 1024, connectionBudget: 256 * 1024 });
    const subscriberWorker = await subscriber(backend[0]);
    const raw = new zmq.XPublisher({ linger: 0 });
    try {
      raw.connect(frontend[0]);
      const subscribed = async () => {
        for (;;) {
          const [message] = await raw.receive();
          if (message[0] === 1 && message.toString('utf8', 1) === 'ticks.') {
            return;
          }
        }
      };
      await within(subscribed(), 5_000, 'the subscription through the proxy');
      const tick = (seq: number, bytes: number) =>
        raw.send(['ticks.eu', `raw:${seq}`, 'NZ1E', 'ticks.eu', 'j', JSON.stringify({ from: 'raw', seq, pad: 'x'.repeat(bytes) })]);
      await tick(0, 100 * 1024);
      // Small ones until one arrives: the reset connection comes back on its own.
      for (let seq = 1; seq <= 50 && subscriberWorker.received.items.length === 0; seq++) {
        await tick(seq, 10);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const [only] = await subscriberWorker.received.waitFor(1);
      expect((only.data as Tick).seq).toBeGreaterThan(0);
    } finally {
      raw.close();
    }
  });

  it('forwards every message of 2 publishers to each of 3 subscribers, in order per publisher', async () => {
    const { frontend, backend } = await startProxy();
    // Publishers first: a publisher that connects later hears each subscribed prefix once (docs/topologies.md).
    const publishers = [await publisher(frontend[0]), await publisher(frontend[0])];
    const subscribers = [await subscriber(backend[0]), await subscriber(backend[0]), await subscriber(backend[0])];
    await Promise.all(publishers.map((client) => client.waitForSubscribers('ticks.eu', 3, 5_000)));
    const count = 300;
    await Promise.all(
      publishers.flatMap((client, p) =>
        Array.from({ length: count }, (_, seq) =>
          firstValueFrom(client.emit('ticks.eu', { from: `p${p}`, seq }), { defaultValue: undefined }),
        ),
      ),
    );
    for (const { received } of subscribers) {
      const ticks = (await received.waitFor(2 * count)).map((item) => item.data as Tick);
      for (const from of ['p0', 'p1']) {
        expect(ticks.filter((tick) => tick.from === from).map((tick) => tick.seq)).toEqual(Array.from({ length: count }, (_, seq) => seq));
      }
    }
    expect(subscribers.map((worker) => worker.server.getMetrics().missed)).toEqual([0, 0, 0]);
  });

  it('with CURVE: listed publishers in, others rejected; a subscriber without the subscribers key gets nothing', async () => {
    const [proxyKeys, subscriberKeys, publisherKeys, strangerKeys, impostorKeys] = Array.from({ length: 5 }, () => zmq.curveKeyPair());
    const proxy = new ZeroMqBroadcastProxy({
      frontend: [LOOPBACK_ANY_PORT],
      backend: [LOOPBACK_ANY_PORT],
      curve: { secretKey: proxyKeys.secretKey, allowPublishers: [publisherKeys.publicKey], subscriberPublicKey: subscriberKeys.publicKey },
    });
    proxies.push(proxy);
    await proxy.start();
    const { frontend, backend } = proxy.getAddresses();
    const listed = await publisher(frontend[0], { secretKey: publisherKeys.secretKey, serverPublicKey: proxyKeys.publicKey });
    const stranger = new ZeroMqClient({
      kind: 'pub-sub',
      endpoints: [frontend[0]],
      curve: { secretKey: strangerKeys.secretKey, serverPublicKey: proxyKeys.publicKey },
    });
    clients.push(stranger);
    const genuine = await subscriber(backend[0], { secretKey: subscriberKeys.secretKey, allowClients: [proxyKeys.publicKey] });
    const impostor = await subscriber(backend[0], { secretKey: impostorKeys.secretKey });
    await listed.waitForSubscribers('ticks.eu', 1, 5_000);
    await stranger.connect();
    await firstValueFrom(stranger.emit('ticks.eu', { from: 'stranger', seq: 0 }), { defaultValue: undefined });
    await firstValueFrom(listed.emit('ticks.eu', { from: 'listed', seq: 0 }), { defaultValue: undefined });
    expect((await genuine.received.waitFor(1)).map((item) => (item.data as Tick).from)).toEqual(['listed']);
    expect(listed.getMetrics().subscriptions.default).toEqual({ 'ticks.': 1 });
    expect(impostor.server.getMetrics().received).toBe(0);
    expect(proxy.rejectedPublishers).toBeGreaterThan(0);
  });

  it("with CURVE and allowSubscribers: the proxy's allow-list says who reads; an unlisted subscriber gets nothing", async () => {
    const [proxyKeys, publisherKeys, listedKeys, unlistedKeys] = Array.from({ length: 4 }, () => zmq.curveKeyPair());
    const proxy = new ZeroMqBroadcastProxy({
      frontend: [LOOPBACK_ANY_PORT],
      backend: [LOOPBACK_ANY_PORT],
      curve: { secretKey: proxyKeys.secretKey, allowPublishers: [publisherKeys.publicKey], allowSubscribers: [listedKeys.publicKey] },
    });
    proxies.push(proxy);
    await proxy.start();
    const { frontend, backend } = proxy.getAddresses();
    const client = await publisher(frontend[0], { secretKey: publisherKeys.secretKey, serverPublicKey: proxyKeys.publicKey });
    const listed = await subscriber(backend[0], { secretKey: listedKeys.secretKey, publisherPublicKey: proxyKeys.publicKey });
    const unlisted = await subscriber(backend[0], { secretKey: unlistedKeys.secretKey, publisherPublicKey: proxyKeys.publicKey });
    await client.waitForSubscribers('ticks.eu', 1, 5_000);
    await firstValueFrom(client.emit('ticks.eu', { from: 'publisher', seq: 0 }), { defaultValue: undefined });
    expect((await listed.received.waitFor(1)).map((item) => (item.data as Tick).from)).toEqual(['publisher']);
    expect(client.getMetrics().subscriptions.default).toEqual({ 'ticks.': 1 });
    expect(unlisted.server.getMetrics().received).toBe(0);
    expect(proxy.rejectedSubscribers).toBeGreaterThan(0);
    expect(proxy.rejectedPublishers).toBe(0);
  });

  it('refuses options it cannot use, naming them', () => {
    expect(() => new ZeroMqBroadcastProxy({ frontend: ['tcp://nowhere'], backend: [] })).toThrow(
      /needs at least one address\n {2}→ at backend\n✖ must be tcp:\/\/host:port, ipc:\/\/path or inproc:\/\/name\n {2}→ at frontend\[0\]/,
    );
    expect(
      () =>
        new ZeroMqBroadcastProxy({
          frontend: [LOOPBACK_ANY_PORT],
          backend: [LOOPBACK_ANY_PORT],
          curve: { secretKey: 'short', subscriberPublicKey: 'x' },
        }),
    ).toThrow(/secretKey[\s\S]*40-character Z85 key/);
    const keys = zmq.curveKeyPair();
    expect(
      () =>
        new ZeroMqBroadcastProxy({
          frontend: [LOOPBACK_ANY_PORT],
          backend: [LOOPBACK_ANY_PORT],
          curve: { secretKey: keys.secretKey, subscriberPublicKey: keys.publicKey, allowSubscribers: [keys.publicKey] },
        }),
    ).toThrow(/needs exactly one of subscriberPublicKey .* and allowSubscribers/);
  });
});
