import { Controller, Get, Inject, Module, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ClientsModule, ClientProxy, Ctx, EventPattern, MessagePattern, Payload, RpcException } from '@nestjs/microservices';
import { firstValueFrom, from, lastValueFrom, of, scan, timeout, toArray } from 'rxjs';
import * as zmq from 'zeromq';
import { decodeMessage, encodeReply, HEADERS, recordFields } from './internal/protocol/wire.js';
import { ZeroMqClient } from './zeromq.client.js';
import type { ZeroMqContext } from './zeromq.context.js';
import type { ZeroMqRequestError } from './zeromq.errors.js';
import type { ZeroMqClientOptions } from './zeromq.options.js';
import { boundAddress, RECEIVED, startWorker, TEST_LOG_LEVELS, type Received, type Worker } from '../test/nest-apps.js';
import { LOOPBACK_ANY_PORT } from '../test/endpoints.js';
import { Collector, eventually, within } from '../test/waiting.js';

const sum = (numbers: number[]) => numbers.reduce((a, b) => a + b, 0);

/** Requests that park until the test releases them (fresh for every test). */
let parked = { started: new Collector<number>(), release: new Set<() => void>() };
const releaseParked = () => {
  for (const release of parked.release) {
    release();
  }
  parked.release.clear();
};

@Controller()
class MathController {
  constructor(@Inject(RECEIVED) private readonly received: Collector<Received>) {}

  @MessagePattern('sum')
  sum(@Payload() numbers: number[]): number {
    return sum(numbers);
  }

  @MessagePattern('sum.async')
  async sumAsync(@Payload() numbers: number[]): Promise<number> {
    await new Promise((resolve) => setImmediate(resolve));
    return sum(numbers);
  }

  @MessagePattern('sum.observable')
  sumObservable(@Payload() numbers: number[]) {
    return of(sum(numbers));
  }

  @MessagePattern('running.total')
  runningTotal(@Payload() numbers: number[]) {
    return from(numbers).pipe(scan((total, n) => total + n, 0));
  }

  @MessagePattern({ cmd: 'bytes' })
  bytes(@Payload() data: Buffer): Buffer {
    return Buffer.from([...data].reverse());
  }

  @MessagePattern('whoami')
  whoami(@Ctx() context: ZeroMqContext): string {
    return context.getMetadata()?.server ?? process.pid.toString();
  }

  @MessagePattern('fail.rpc')
  failRpc(): never {
    throw new RpcException({ status: 'error', message: 'Order 7 is not yours', code: 'FORBIDDEN' });
  }

  @MessagePattern('fail.error')
  failError(): never {
    throw new Error('database exploded');
  }

  @MessagePattern('parked')
  async park(@Payload() seq: number): Promise<number> {
    parked.started.add(seq);
    await new Promise<void>((resolve) => parked.release.add(resolve));
    return seq;
  }

  @EventPattern<string>('noted')
  noted(@Payload() data: unknown, @Ctx() context: ZeroMqContext): void {
    this.received.add({ pattern: context.getPattern(), data, context });
  }
}

describe('Request-response over DEALER/ROUTER', () => {
  const workers: Worker[] = [];
  const clients: ZeroMqClient[] = [];
  const rpcWorker = async () => {
    const worker = await startWorker({ endpoints: [LOOPBACK_ANY_PORT], kind: 'dealer-router' }, [MathController]);
    workers.push(worker);
    return worker;
  };
  const client = (options: ZeroMqClientOptions) => {
    const created = new ZeroMqClient({ kind: 'dealer-router', ...options });
    clients.push(created);
    return created;
  };
  const ask = <T>(c: ClientProxy, pattern: unknown, data: unknown) =>
    within(lastValueFrom(c.send<T>(pattern, data)), 5_000, `reply to ${JSON.stringify(pattern)}`);

  beforeEach(() => {
    parked = { started: new Collector<number>(), release: new Set<() => void>() };
  });
  afterEach(async () => {
    releaseParked();
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await Promise.all(workers.splice(0).map((w) => w.app.close()));
  });

  it('answers sync, async and Observable handlers, and Buffers untouched', async () => {
    const { server } = await rpcWorker();
    const c = client({ endpoints: [boundAddress(server)] });
    expect(await ask(c, 'sum', [1, 2, 3])).toBe(6);
    expect(await ask(c, 'sum.async', [4, 5])).toBe(9);
    expect(await ask(c, 'sum.observable', [10, 20])).toBe(30);
    expect(await ask(c, { cmd: 'bytes' }, Buffer.from([1, 2, 3]))).toEqual(Buffer.from([3, 2, 1]));
  });

  it('streams every value of an Observable handler, then completes', async () => {
    const { server } = await rpcWorker();
    const c = client({ endpoints: [boundAddress(server)] });
    const values = await within(firstValueFrom(c.send<number>('running.total', [1, 2, 3, 4]).pipe(toArray())), 5_000, 'stream');
    expect(values).toEqual([1, 3, 6, 10]);
  });

  it.each([10, 1_000])('answers %i concurrent requests, each with its own result', async (count) => {
    const { server } = await rpcWorker();
    const c = client({ endpoints: [boundAddress(server)] });
    const answers = await within(
      Promise.all(Array.from({ length: count }, (_, i) => lastValueFrom(c.send<number>('sum', [i, i])))),
      15_000,
      `${count} replies`,
    );
    expect(answers).toEqual(Array.from({ length: count }, (_, i) => 2 * i));
    expect(c.getMetrics()).toMatchObject({ requests: count, requestsFailed: 0, pendingRequests: 0 });
  });

  it('delivers RpcException errors as Nest does, and other errors as the generic internal error', async () => {
    const { server } = await rpcWorker();
    const c = client({ endpoints: [boundAddress(server)] });
    await expect(ask(c, 'fail.rpc', {})).rejects.toEqual({ status: 'error', message: 'Order 7 is not yours', code: 'FORBIDDEN' });
    await expect(ask(c, 'fail.error', {})).rejects.toEqual({ status: 'error', message: 'Internal server error' });
    await eventually(
      () => server.getMetrics(),
      (m) => m.failed === 2,
    );
  });

  it("answers an unknown pattern with Nest's no-handler error", async () => {
    const { server } = await rpcWorker();
    const c = client({ endpoints: [boundAddress(server)] });
    await expect(ask(c, 'nobody.home', {})).rejects.toBe('There is no matching message handler defined in the remote service.');
    expect(server.getMetrics().unknownPattern).toBe(1);
  });

  it('times out with requestTimeout or an rxjs timeout, and frees the entry', async () => {
    const { server } = await rpcWorker();
    const c = client({ endpoints: [boundAddress(server)], requestTimeout: 200 });
    const failure = (await ask(c, 'parked', 1).catch((e: unknown) => e)) as ZeroMqRequestError;
    expect(failure.code).toBe('TIMEOUT');
    expect(failure.message).toContain('"parked"');
    await expect(within(lastValueFrom(c.send('parked', 2).pipe(timeout(50))), 5_000, 'rxjs timeout')).rejects.toThrow(
      'Timeout has occurred',
    );
    expect(c.getMetrics().pendingRequests).toBe(0);
    // The handlers answer later: those replies are counted as late, not delivered.
    await parked.started.waitFor(2);
    releaseParked();
    await eventually(
      () => c.getMetrics(),
      (m) => m.lateReplies === 2,
    );
  });

  it('fails pending requests at once when their server goes away', async () => {
    const worker = await rpcWorker();
    const c = client({ endpoints: [boundAddress(worker.server)], requestTimeout: 0 });
    const pending = ask(c, 'parked', 3).catch((e: ZeroMqRequestError) => e);
    await parked.started.waitFor(1);
    // A crash: the server's socket vanishes without a reply.
    worker.server.unwrap<Record<string, zmq.Router>>().default.close();
    const failure = await pending;
    expect(failure).toMatchObject({ code: 'PEER_LOST' });
    expect(c.getMetrics().pendingRequests).toBe(0);
  });

  it('reads the reply a server sent just before it disconnected, however late it reads it', async () => {
    // A raw server that answers and closes at once while the client's event loop is blocked: the
    // reply and the disconnect both reach the client's ZeroMQ before it reads anything.
    const router = new zmq.Router({ linger: 1_000 });
    await router.bind('tcp://127.0.0.1:*');
    const c = client({ endpoints: [router.lastEndpoint!] });
    const answer = ask(c, 'sum', [1, 2]);
    const [peer, ...frames] = await within(router.receive(), 5_000, 'the request');
    const message = decodeMessage(frames, { maxPatternLength: 1_000, maxRecordsPerMessage: 10 });
    expect(message.kind).toBe('requests');
    const { id } = (message as { records: Array<{ id: string }> }).records[0];
    await router.send([peer, HEADERS.replies, ...recordFields.reply(encodeReply(id, 'd', 3))]);
    router.close();
    const blockedUntil = Date.now() + 500;
    while (Date.now() < blockedUntil) {
      // Busy: ZeroMQ's I/O threads take the reply and then the disconnect meanwhile.
    }
    expect(await answer).toBe(3);
    expect(c.getMetrics()).toMatchObject({ requestsFailed: 0, pendingRequests: 0 });
  });

  it('fails pending requests with CLOSED when the client closes', async () => {
    const { server } = await rpcWorker();
    const c = new ZeroMqClient({ kind: 'dealer-router', endpoints: [boundAddress(server)] });
    const pending = ask(c, 'parked', 4).catch((e: ZeroMqRequestError) => e);
    await parked.started.waitFor(1);
    await c.close();
    expect(await pending).toMatchObject({ code: 'CLOSED' });
  });

  it('shares requests between two servers and still takes events on the same socket', async () => {
    const first = await rpcWorker();
    const second = await rpcWorker();
    const c = client({ endpoints: [boundAddress(first.server), boundAddress(second.server)] });
    await c.connect();
    await eventually(
      () => Object.values(c.unwrap<Record<string, zmq.Dealer>>()).length,
      (n) => n === 2,
    );
    // One request at a time: each in a ZeroMQ message of its own, dealt to the servers in turn.
    for (let i = 0; i < 200; i++) {
      await lastValueFrom(c.send<number>('sum', [i]));
    }
    expect([first, second].map((w) => w.server.getMetrics().handled)).toEqual([100, 100]);
    await firstValueFrom(c.emit('noted', { hello: 'router' }), { defaultValue: undefined });
    await eventually(
      () => first.received.items.length + second.received.items.length,
      (n) => n === 1,
    );
  });

  it('serves send() from a hybrid HTTP app through ClientsModule', async () => {
    const { server } = await rpcWorker();

    @Controller()
    class TotalsController {
      constructor(@Inject('MATH') private readonly math: ClientProxy) {}

      @Get('total')
      total(): Promise<number> {
        return firstValueFrom(this.math.send<number>('sum', [2, 3, 5]));
      }
    }

    @Module({
      imports: [
        ClientsModule.register([
          { name: 'MATH', customClass: ZeroMqClient, options: { kind: 'dealer-router', endpoints: [boundAddress(server)] } },
        ]),
      ],
      controllers: [TotalsController],
    })
    class HttpModule {}

    const app: INestApplication = await NestFactory.create(HttpModule, { logger: TEST_LOG_LEVELS });
    try {
      await app.listen(0, '127.0.0.1');
      const response = await within(fetch(`${await app.getUrl()}/total`), 5_000, 'HTTP response');
      expect(response.status).toBe(200);
      expect(await response.text()).toBe('10');
    } finally {
      await app.close();
    }
  });
});
