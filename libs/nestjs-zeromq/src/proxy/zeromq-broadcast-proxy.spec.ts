import { Controller, Inject } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { firstValueFrom } from 'rxjs';
import * as zmq from 'zeromq';
import { ZeroMqClient } from '../zeromq.client.js';
import type { ZeroMqClientCurveOptions, ZeroMqServerCurveOptions } from '../zeromq.curve.options.js';
import { ZeroMqBroadcastProxy } from './zeromq-broadcast-proxy.js';
import type { ZeroMqBroadcastProxyOptions } from './zeromq-broadcast-proxy.options.js';
import type { ZeroMqServerOptions } from '../zeromq.options.js';
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

/** A subscriber whose handler waits for `held` (when set): a subscriber that falls behind. */
@Controller()
class HeldTickController {
  static held: Promise<void> | undefined;
  constructor(@Inject(RECEIVED) private readonly received: Collector<Received>) {}

  @EventPattern('ticks.*')
  async tick(@Payload() data: unknown): Promise<void> {
    await HeldTickController.held;
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
  const subscriber = async (backend: string, curve?: ZeroMqServerCurveOptions, held?: Partial<ZeroMqServerOptions>) => {
    const worker = await startWorker({ kind: 'pub-sub', endpoints: [{ address: backend, bind: false }], curve, ...held }, [
      held === undefined ? TickController : HeldTickController,
    ]);
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

  it.each([
    ['drops past', 10],
    ['holds up to', 50_000],
  ])('%s its buffer (highWaterMark %d) for a subscriber that falls behind, never blocking the publisher', async (_, highWaterMark) => {
    const { frontend, backend } = await startProxy({ highWaterMark });
    const client = await publisher(frontend[0]);
    let release = () => {};
    HeldTickController.held = new Promise((resolve) => (release = resolve));
    try {
      // Little room at the subscriber (1 running, 10 read ahead, 10 in its socket): the backlog piles up before the proxy.
      const slow = await subscriber(backend[0], undefined, { concurrency: 1, prefetch: 10, receiveHighWaterMark: 10 });
      await client.waitForSubscribers('ticks.eu', 1, 5_000);
      // Far more than the proxy's 10, the subscriber's queues and the kernel's buffers hold together.
      const count = 20_000;
      const filler = 'x'.repeat(1_000);
      const emitAll = async () => {
        for (let batch = 0; batch < count; batch += 1_000) {
          await Promise.all(
            Array.from({ length: 1_000 }, (_, i) =>
              firstValueFrom(client.emit('ticks.eu', { from: 'p', seq: batch + i, filler }), { defaultValue: undefined }),
            ),
          );
        }
      };
      await within(emitAll(), 20_000, 'every emit to complete while the subscriber is held');
      release();
      // A last tick once the backlog is through: the gap before it is counted when it arrives.
      const last = { from: 'last', seq: count };
      let lastSeen = false;
      for (let round = 0; round < 100 && !lastSeen; round++) {
        await firstValueFrom(client.emit('ticks.eu', last), { defaultValue: undefined });
        lastSeen = await slow.received.waitFor(slow.received.items.length + 1, 200).then(
          () => slow.received.items.some((item) => (item.data as Tick).from === 'last'),
          () => false,
        );
      }
      expect(lastSeen).toBe(true);
      const received = slow.received.items.filter((item) => (item.data as Tick).from === 'p').length;
      const { missed } = slow.server.getMetrics();
      console.log(`proxy highWaterMark ${highWaterMark}: the held subscriber got ${received} of ${count}, missed ${missed}`);
      // The subscriber counts the gap exactly; only a buffer smaller than the backlog loses any.
      expect(received + missed).toBe(count);
      if (highWaterMark < count) {
        expect(missed).toBeGreaterThan(0);
      } else {
        expect(missed).toBe(0);
      }
    } finally {
      release();
      HeldTickController.held = undefined;
    }
  });

  it('after a proxy restart on the same addresses, publishers and subscribers reconnect by themselves', async () => {
    const { frontend, backend } = await startProxy();
    const client = await publisher(frontend[0]);
    const sub = await subscriber(backend[0]);
    await client.waitForSubscribers('ticks.eu', 1, 5_000);
    await firstValueFrom(client.emit('ticks.eu', { from: 'before', seq: 0 }), { defaultValue: undefined });
    await sub.received.waitFor(1);
    await proxies.splice(0)[0].close();
    await startProxy({ frontend, backend });
    // What is emitted while the subscription travels again is lost (at most once): emit until one arrives.
    let seq = 0;
    for (; seq < 200 && sub.received.items.length < 2; seq++) {
      await firstValueFrom(client.emit('ticks.eu', { from: 'after', seq }), { defaultValue: undefined });
      await sub.received.waitFor(2, 50).catch(() => undefined);
    }
    expect(sub.received.items.length).toBeGreaterThanOrEqual(2);
    const from = sub.received.items.length;
    await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        firstValueFrom(client.emit('ticks.eu', { from: 'steady', seq: i }), { defaultValue: undefined }),
      ),
    );
    const steady = (await sub.received.waitFor(from + 100)).map((item) => item.data as Tick).filter((tick) => tick.from === 'steady');
    expect(steady.map((tick) => tick.seq)).toEqual(Array.from({ length: 100 }, (_, i) => i));
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
