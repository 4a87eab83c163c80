import { Controller, Inject, type Logger } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { jest } from '@jest/globals';
import { firstValueFrom } from 'rxjs';
import * as zmq from 'zeromq';
import { ZeroMqClient } from './zeromq.client.js';
import type { ZeroMqContext } from './zeromq.context.js';
import type { ZeroMqServerOptions } from './zeromq.options.js';
import { ZeroMqServer } from './zeromq.server.js';
import { boundAddress, RECEIVED, startWorker, type Received, type Worker } from '../test/nest-apps.js';
import { WildcardController } from '../test/wildcard-controller.js';
import { LOOPBACK_ANY_PORT } from '../test/endpoints.js';
import { eventually, within, type Collector } from '../test/waiting.js';

/** One handler, `*.created`: its subscription prefix is empty, so the SUB socket takes every topic. */
@Controller()
class CreatedController {
  constructor(@Inject(RECEIVED) private readonly received: Collector<Received>) {}

  @EventPattern<string>('*.created')
  created(@Payload() data: unknown, @Ctx() context: ZeroMqContext): void {
    this.received.add({ pattern: context.getPattern(), data, context });
  }
}

/** What a SUB socket does with what publishers send it: plain broadcasts, stamps, gaps, and what it subscribes to. */
describe("kind 'pub-sub': a subscriber's input", () => {
  const workers: Worker[] = [];
  const clients: ZeroMqClient[] = [];
  const sockets: zmq.Socket[] = [];

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close()));
    await Promise.all(workers.splice(0).map((worker) => worker.app.close()));
    sockets.splice(0).forEach((socket) => socket.close());
  });

  /** A subscriber whose log warnings are kept. */
  const subscriber = async (options: Omit<ZeroMqServerOptions, 'kind'>, controllers: Array<new (...args: never[]) => unknown>) => {
    const server = new ZeroMqServer({ kind: 'pub-sub', ...options });
    const warnings: string[] = [];
    jest
      .spyOn((server as unknown as { logger: Logger }).logger, 'warn')
      .mockImplementation((line: unknown) => void warnings.push(String(line)));
    const worker = await startWorker(server, controllers);
    workers.push(worker);
    return { ...worker, warnings };
  };

  /** A plain ZeroMQ publisher connected to `address`, once the subscription `prefix` reached it. */
  const rawPublisher = async (address: string, prefix: string) => {
    const raw = new zmq.XPublisher({ linger: 0 });
    sockets.push(raw);
    raw.connect(address);
    const subscribed = async () => {
      for (;;) {
        const [message] = await raw.receive();
        if (message[0] === 1 && message.toString('utf8', 1) === prefix) {
          return;
        }
      }
    };
    await within(subscribed(), 5_000, `the subscription "${prefix}"`);
    return raw;
  };

  it("takes a plain publisher's broadcast as an event of its topic, and a topic of 0 or more than maxPatternLength bytes as malformed", async () => {
    const { server, received, warnings } = await subscriber(
      { endpoints: [LOOPBACK_ANY_PORT], logInterval: 0, maxPatternLength: 16, plainMessages: { pattern: 'not used by a SUB socket' } },
      [CreatedController],
    );
    const raw = await rawPublisher(boundAddress(server), '');
    for (const frames of [
      ['', 'no topic'],
      ['abcdefghi.created', 'topic of 17 bytes'],
      ['abcdefgh.created', 'topic of 16 bytes'],
      ['a.created', 'short topic'],
    ]) {
      await raw.send(frames);
    }
    const items = await received.waitFor(2);
    expect(items.map(({ pattern, data, context }) => [pattern, data, context.isPlainMessage()])).toEqual([
      ['abcdefgh.created', 'topic of 16 bytes', true],
      ['a.created', 'short topic', true],
    ]);
    expect(server.getMetrics()).toMatchObject({ received: 2, malformed: 2, undecodable: 0 });
    expect(warnings).toEqual(
      [0, 17].map(
        (bytes) =>
          `Dropped a malformed message on socket "default": plain broadcast with a topic of ${bytes} bytes (1 to maxPatternLength allowed)`,
      ),
    );
  });

  it('counts the records a publisher sent but the subscriber never got, per publisher and topic, rejected records included', async () => {
    const { server, received, warnings } = await subscriber({ endpoints: [LOOPBACK_ANY_PORT], logInterval: 0 }, [CreatedController]);
    const raw = await rawPublisher(boundAddress(server), '');
    const shots: string[][] = [
      ['x.created', 'p:0', 'NZ1E', 'x.created', 'j', '1'],
      // Two records, one of them rejected (empty pattern): the next one is number 3.
      ['x.created', 'p:1', 'NZ1E', 'x.created', 'j', '2', '', 'j', 'x'],
      ['x.created', 'p:3', 'NZ1E', 'x.created', 'j', '3'],
      // Not events (a SUB socket takes none of those): no record of this topic, whatever its stamp.
      ['x.created', 'p:7', 'NZ1Q', 'id-1', 'x.created', 'j', 'x'],
      // Another topic of the same publisher has its own sequence.
      ['y.created', 'p:0', 'NZ1E', 'y.created', 'j', '4'],
      // Records 4 and 5 of x.created never came.
      ['x.created', 'p:6', 'NZ1E', 'x.created', 'j', '5'],
      ['x.created', 'no stamp', 'NZ1E', 'x.created', 'j', '6'],
    ];
    for (const frames of shots) {
      await raw.send(frames);
    }
    const items = await received.waitFor(5);
    expect(items.map(({ pattern, data }) => `${pattern} ${String(data)}`)).toEqual([
      'x.created 1',
      'x.created 2',
      'x.created 3',
      'y.created 4',
      'x.created 5',
    ]);
    await eventually(
      () => server.getMetrics().malformed,
      (malformed) => malformed === 2,
    );
    expect(server.getMetrics()).toMatchObject({ received: 5, missed: 2, malformed: 2, undecodable: 1 });
    expect(warnings).toEqual([
      'Dropped a record on socket "default": empty pattern',
      `Dropped a requests message on socket "default": a 'pub-sub' socket does not take those`,
      'Socket "default" missed 2 "x.created" broadcast(s) of publisher p: dropped on the way (a high-water mark)',
      'Dropped a malformed message on socket "default": broadcast without a "<publisher>:<sequence>" stamp in frame 1',
    ]);
  });

  it('warns, and subscribes to nothing, when no @EventPattern handler is there to subscribe to', async () => {
    const publisher = new ZeroMqClient({ kind: 'pub-sub', endpoints: [{ address: LOOPBACK_ANY_PORT, bind: true }] });
    clients.push(publisher);
    await publisher.connect();
    const endpoint = { address: boundAddress(publisher), bind: false };
    const idle = await subscriber({ endpoints: [endpoint] }, []);
    expect(idle.warnings).toContain(`Socket "default" (kind 'pub-sub') has no @EventPattern handler to subscribe to: it receives nothing`);
    // A subscriber that does subscribe, connected after the idle one: once it is counted, so would the idle one be.
    const busy = await subscriber({ endpoints: [endpoint] }, [WildcardController]);
    await publisher.waitForSubscribers('orders.created', 1, 5_000);
    await firstValueFrom(publisher.emit('orders.created', 'for subscribers'), { defaultValue: undefined });
    await busy.received.waitFor(1);
    expect(publisher.getMetrics().subscriptions).toEqual({ default: { 'orders.': 1, 'prices.': 1 } });
    expect(idle.server.getMetrics().received).toBe(0);
  });

  it("subscribes the default socket to the handlers' patterns that no route lists", async () => {
    const { server, received } = await subscriber(
      { endpoints: [LOOPBACK_ANY_PORT], routes: [{ name: 'prices', patterns: ['prices.>'], endpoints: [LOOPBACK_ANY_PORT] }] },
      [WildcardController],
    );
    const publisher = new ZeroMqClient({
      kind: 'pub-sub',
      endpoints: [boundAddress(server)],
      routes: [{ name: 'prices', patterns: ['prices.eu'], endpoints: [boundAddress(server, 'prices')] }],
    });
    clients.push(publisher);
    await publisher.waitForSubscribers('orders.created', 1, 5_000);
    await publisher.waitForSubscribers('prices.eu', 1, 5_000);
    expect(publisher.getMetrics().subscriptions).toEqual({ default: { 'orders.': 1 }, prices: { 'prices.': 1 } });
    await firstValueFrom(publisher.emit('prices.eu', 'price'), { defaultValue: undefined });
    await firstValueFrom(publisher.emit('orders.created', 'order'), { defaultValue: undefined });
    const items = await received.waitFor(2);
    expect(items.map((item) => `${item.context.getSocketName()}: ${item.pattern}`).sort()).toEqual([
      'default: orders.created <- orders.created',
      'prices: prices.> <- prices.eu',
    ]);
    await eventually(
      () => server.getMetrics().handled,
      (handled) => handled === 2,
    );
  });
});
