import { Controller, Inject, type Logger } from '@nestjs/common';
import { Ctx, EventPattern, Payload, RpcException, type MessageHandler, type ReadPacket } from '@nestjs/microservices';
import { jest } from '@jest/globals';
import { delay, of, throwError, timer, map } from 'rxjs';
import * as zmq from 'zeromq';
import type { ZeroMqContext } from './zeromq.context.js';
import type { ZeroMqHandlerOutcome } from './zeromq.events.js';
import type { ZeroMqServerOptions } from './zeromq.options.js';
import { ZeroMqServer } from './zeromq.server.js';
import { boundAddress, RECEIVED, startWorker, type Received, type Worker } from '../test/nest-apps.js';
import { LOOPBACK_ANY_PORT } from '../test/endpoints.js';
import { eventually, within, type Collector } from '../test/waiting.js';

/** The message of what Nest's exception filter made of a handler's RpcException. */
const messageOf = (error: unknown) => (typeof error === 'string' ? error : (error as Error).message);

/** Waits until `count` handlers have ended, handled or failed. */
const ended = (server: ZeroMqServer, count: number) =>
  eventually(
    () => server.getMetrics(),
    (metrics) => metrics.handled + metrics.failed === count,
  );

/** Waits until the server's socket holds messages it has not read. */
const heldUnread = (server: ZeroMqServer) =>
  eventually(
    () => server.unwrap<Record<string, zmq.Pull>>().default.readable,
    (readable) => readable,
  );

/** Ends the running `parked` handler. */
let release = () => {};

/** How long the slow handlers take: a handler's reported duration covers it. */
const SLOW_MS = 40;

/** Handlers that succeed or fail in each way a Nest handler can: a value, a promise, an observable. */
@Controller()
class OutcomesController {
  constructor(@Inject(RECEIVED) private readonly received: Collector<Received>) {}

  private record(data: unknown, context: ZeroMqContext): void {
    this.received.add({ pattern: context.getPattern(), data, context });
  }

  @EventPattern<string>('ok.value')
  value(@Payload() data: unknown, @Ctx() context: ZeroMqContext): number {
    this.record(data, context);
    return 1;
  }

  @EventPattern<string>('ok.promise')
  async promise(@Payload() data: unknown, @Ctx() context: ZeroMqContext): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, SLOW_MS));
    this.record(data, context);
  }

  @EventPattern<string>('ok.observable')
  observable(@Payload() data: unknown, @Ctx() context: ZeroMqContext) {
    // The handler's work is done when its observable completes, not when it returns it.
    return timer(SLOW_MS).pipe(map(() => this.record(data, context)));
  }

  @EventPattern({ cmd: 'object' })
  object(@Payload() data: unknown, @Ctx() context: ZeroMqContext): void {
    this.record(data, context);
  }

  @EventPattern<string>('parked')
  async parked(@Payload() data: unknown, @Ctx() context: ZeroMqContext): Promise<void> {
    this.record(data, context);
    await new Promise<void>((resolve) => (release = resolve));
  }

  @EventPattern<string>('fail.throw')
  throws(): never {
    throw new RpcException('thrown');
  }

  @EventPattern<string>('fail.promise')
  async rejects(): Promise<never> {
    await new Promise((resolve) => setTimeout(resolve, 1));
    throw new RpcException('rejected');
  }

  @EventPattern<string>('fail.observable')
  errors() {
    return of(1).pipe(
      delay(SLOW_MS),
      map(() => {
        throw new RpcException('errored');
      }),
    );
  }

  @EventPattern<string>('fail.late')
  late() {
    return throwError(() => new RpcException('late'));
  }
}

/** What a server socket does with each record it reads: handler outcomes and their events, the deserializer, bad input. */
describe('a server socket handling what it reads', () => {
  const workers: Worker[] = [];
  const sockets: zmq.Socket[] = [];

  afterEach(async () => {
    release();
    sockets.splice(0).forEach((socket) => socket.close());
    await Promise.all(workers.splice(0).map((worker) => worker.app.close()));
  });

  /** A worker on push-pull whose warnings are kept, and a plain PUSH socket connected to it. */
  const start = async (options: Omit<ZeroMqServerOptions, 'endpoints'> = {}) => {
    const server = new ZeroMqServer({ endpoints: [LOOPBACK_ANY_PORT], logInterval: 0, ...options });
    const warnings: string[] = [];
    const errors: string[] = [];
    const logger = (server as unknown as { logger: Logger }).logger;
    jest.spyOn(logger, 'warn').mockImplementation((line: unknown) => void warnings.push(String(line)));
    jest.spyOn(logger, 'error').mockImplementation((line: unknown) => void errors.push(String(line)));
    const worker = await startWorker(server, [OutcomesController]);
    workers.push(worker);
    const push = new zmq.Push({ linger: 0 });
    sockets.push(push);
    push.connect(boundAddress(server));
    const send = (...frames: string[]) => push.send(frames);
    return { ...worker, warnings, errors, send };
  };
  const event = (pattern: string, payload = '1', info = 'j') => ['NZ1E', pattern, info, payload];

  it("counts each handler's outcome, and reports it with the time the handler took (an observable's until it completes)", async () => {
    const testStarted = performance.now();
    const { server, send } = await start();
    const ends: Array<[string, number, ZeroMqHandlerOutcome]> = [];
    const errors: string[] = [];
    server.on('handler-end', (context, durationMs, outcome) => ends.push([context.getPattern(), durationMs, outcome]));
    server.on('handler-error', (error, context) => errors.push(`${context.getPattern()}: ${messageOf(error)}`));
    const patterns = ['ok.value', 'ok.promise', 'ok.observable', 'fail.throw', 'fail.promise', 'fail.observable', 'fail.late'];
    for (const pattern of patterns) {
      await send(...event(pattern));
    }
    await ended(server, patterns.length);
    expect(server.getMetrics()).toMatchObject({ received: 7, handled: 3, failed: 4 });
    expect(ends.map(([pattern, , outcome]) => [pattern, outcome]).sort()).toEqual(
      patterns.map((pattern) => [pattern, pattern.startsWith('ok.') ? 'success' : 'error']).sort(),
    );
    const took = new Map(ends.map(([pattern, durationMs]) => [pattern, durationMs]));
    for (const pattern of ['ok.promise', 'ok.observable', 'fail.observable']) {
      expect(took.get(pattern)).toBeGreaterThanOrEqual(SLOW_MS - 1);
    }
    // A duration, not a clock reading: no handler took longer than this test has run.
    expect(Math.max(...took.values())).toBeLessThanOrEqual(performance.now() - testStarted);
    expect(errors.sort()).toEqual(['fail.late: late', 'fail.observable: errored', 'fail.promise: rejected', 'fail.throw: thrown']);
  });

  it('does not time handlers nobody listens to, and still counts their outcomes', async () => {
    const { server, send } = await start();
    const errors: string[] = [];
    server.on('handler-error', (error) => errors.push(messageOf(error)));
    await send(...event('fail.throw'));
    await send(...event('ok.value'));
    await ended(server, 2);
    expect(server.getMetrics()).toMatchObject({ handled: 1, failed: 1 });
    expect(errors).toEqual(['thrown']);
  });

  it('runs a handler added by hand that throws, or returns a value or an observable with no promise, and counts each', async () => {
    const { server, send } = await start();
    const errors: string[] = [];
    server.on('handler-error', (error) => errors.push(messageOf(error)));
    const ran: string[] = [];
    // Nest's own handlers always return a promise; one added with addHandler() need not.
    const byHand = (pattern: string, handler: () => unknown) => server.addHandler(pattern, handler as unknown as MessageHandler, true);
    byHand('hand.throw', () => {
      throw new Error('thrown by hand');
    });
    byHand('hand.value', () => ran.push('value'));
    byHand('hand.observable', () =>
      of(1).pipe(
        delay(5),
        map(() => ran.push('observable')),
      ),
    );
    byHand('hand.failing-observable', () => throwError(() => new Error('errored by hand')));
    for (const pattern of ['hand.throw', 'hand.value', 'hand.observable', 'hand.failing-observable']) {
      await send(...event(pattern));
    }
    await ended(server, 4);
    expect(server.getMetrics()).toMatchObject({ handled: 2, failed: 2 });
    expect(errors.sort()).toEqual(['errored by hand', 'thrown by hand']);
    expect(ran.sort()).toEqual(['observable', 'value']);
  });

  it('counts a record the deserializer refuses (throws or rejects) as undecodable, says why, and handles the others', async () => {
    const deserialize = (record: { pattern: string; data: unknown }): ReadPacket | Promise<ReadPacket> => {
      switch (record.pattern) {
        case 'bad.throws':
          throw new Error('cannot read it');
        case 'bad.rejects':
          return Promise.reject(new Error('cannot read it later'));
        case 'bad.string':
          throw 'no words but these';
        case 'bad.object':
          return Promise.reject({ code: 7 });
        case 'async':
          return Promise.resolve({ pattern: 'ok.value', data: record.data });
        case 'object':
          return { pattern: { cmd: 'object' }, data: record.data };
        default:
          return { pattern: record.pattern, data: record.data };
      }
    };
    const { server, received, warnings, send } = await start({ deserializer: { deserialize } });
    await send(...event('bad.throws'));
    await send(...event('bad.rejects', '2'));
    await send(...event('bad.string'));
    await send(...event('bad.object'));
    await send(...event('async', '3'));
    await send(...event('object', '4'));
    await send(...event('ok.value', '5'));
    const items = await received.waitFor(3);
    await eventually(
      () => server.getMetrics().handled,
      (handled) => handled === 3,
    );
    expect(items.map(({ pattern, data }) => [pattern, data])).toEqual([
      ['ok.value', 3],
      ['{"cmd":"object"}', 4],
      ['ok.value', 5],
    ]);
    expect(server.getMetrics()).toMatchObject({ received: 7, undecodable: 4, handled: 3, failed: 0 });
    // What was thrown, in words: an error's message, a string as it is, anything else as JSON.
    expect(warnings).toEqual([
      'The deserializer rejected a "bad.throws" record: cannot read it',
      'The deserializer rejected a "bad.rejects" record: cannot read it later',
      'The deserializer rejected a "bad.string" record: no words but these',
      'The deserializer rejected a "bad.object" record: {"code":7}',
    ]);
  });

  it('drops what a push-pull socket does not take, a record without handler and an expired one, saying so each time', async () => {
    const { server, received, warnings, send } = await start();
    const sentAt = Date.now();
    await send('NZ1Q', 'id-1', 'ok.value', 'j', '1');
    await send(...event('nobody.listens'));
    await send(...event('ok.value', '"expired"', `j${JSON.stringify({ 'nz-expires-at': String(Date.now() - 5_000) })}`));
    await send(...event('ok.value', '"fresh"', `j${JSON.stringify({ 'nz-expires-at': String(Date.now() + 60_000) })}`));
    await send('NZ1E', 'ok.value', 'j');
    await received.waitFor(1);
    await eventually(
      () => server.getMetrics(),
      (metrics) => metrics.malformed === 2 && metrics.handled === 1,
    );
    expect(received.items.map(({ data }) => data)).toEqual(['fresh']);
    expect(server.getMetrics()).toMatchObject({ received: 2, handled: 1, malformed: 2, unknownPattern: 1, expired: 1 });
    expect(warnings).toHaveLength(4);
    expect(warnings[0]).toBe(`Dropped a requests message on socket "default": a 'push-pull' socket does not take those`);
    expect(warnings[1]).toBe('There is no matching event handler defined in the remote service. Event pattern: nobody.listens');
    expect(warnings[2]).toMatch(/^Dropped "ok\.value" on socket "default": it expired (\d+) ms ago$/);
    const msAgo = Number(/(\d+) ms ago/.exec(warnings[2])![1]);
    expect(msAgo).toBeGreaterThanOrEqual(5_000);
    expect(msAgo).toBeLessThanOrEqual(5_000 + Date.now() - sentAt);
    expect(warnings[3]).toBe('Dropped a malformed message on socket "default": 3 frames: expected the header and a multiple of 3 frames');
  });

  it('says what it drops of bad input word for word, and gives handlers the key and kind of what they get', async () => {
    const { server, received, warnings, send } = await start();
    await send('single frame');
    await send('NZ1E', 'ok.value', 'j', '{broken', 'ok.value', 'j', '"whole"');
    await send(...event('ok.value', '"keyed"', `j${JSON.stringify({ 'nz-key': 'k' })}`));
    const items = await received.waitFor(2);
    expect(items.map(({ data, context }) => [data, context.getKey(), context.isPlainMessage()])).toEqual([
      ['whole', undefined, false],
      ['keyed', 'k', false],
    ]);
    expect(server.getMetrics()).toMatchObject({ malformed: 1, undecodable: 1 });
    expect(warnings).toEqual([
      'Dropped a single-frame message on socket "default": it has no "NZ1E" header; set the plainMessages option to accept plain ZeroMQ messages',
      'Dropped a record on socket "default": pattern "ok.value": payload is not valid JSON',
    ]);
  });

  it("drops a plain message that is not JSON when plainMessages.decoding is 'json', saying why", async () => {
    const { server, received, warnings, send } = await start({ plainMessages: { pattern: 'ok.value', decoding: 'json' } });
    await send('{broken');
    await send('{"n":1}');
    const [item] = await received.waitFor(1);
    expect(item.data).toEqual({ n: 1 });
    await eventually(
      () => server.getMetrics().handled,
      (handled) => handled === 1,
    );
    expect(server.getMetrics()).toMatchObject({ undecodable: 1 });
    expect(warnings).toEqual([
      expect.stringMatching(/^Dropped a plain message on socket "default": it .+ \(plainMessages\.decoding is 'json'\)$/),
    ]);
  });

  it('runs handlers inside the processing hooks: a failure there is counted, and a failing hook is logged and frees its place', async () => {
    const { server, errors, send } = await start({ concurrency: 1 });
    const handlerErrors: string[] = [];
    server.on('handler-error', (error) => handlerErrors.push(messageOf(error)));
    server.setOnProcessingStartHook((_transport, context, done) =>
      (context as ZeroMqContext).getPattern() === 'ok.promise' ? Promise.reject(new Error('the hook broke')) : done(),
    );
    // One handler at a time: the run whose hook failed must end for the next to start.
    await send(...event('ok.promise'));
    await send(...event('fail.throw'));
    await send(...event('ok.value'));
    await ended(server, 3);
    expect(server.getMetrics()).toMatchObject({ handled: 1, failed: 2 });
    expect(handlerErrors).toEqual(['thrown']);
    expect(errors).toContain('A processing hook failed: the hook broke');
  });

  it('closes within closeTimeout while a handler still runs and its socket holds messages it cannot read', async () => {
    // One running message fills the receive budget: the read loop waits for room and the others stay in ZeroMQ.
    const { app, server, received, warnings, send } = await start({ closeTimeout: 200, receiveBudget: 1024, maxMessageSize: 1024 });
    await send(...event('parked'));
    await received.waitFor(1);
    await send(...event('ok.value'));
    await send(...event('ok.value'));
    await heldUnread(server);
    workers.pop();
    await within(app.close(), 5_000, 'server close');
    expect(warnings).toContain('Closed with 1 handler(s) still running after closeTimeout (200 ms)');
  });

  it('stops reading when its read loop fails (here a logger that throws), says why, emits the error and shows it stopped', async () => {
    const { app, server, errors, send } = await start({ closeTimeout: 10_000 });
    const failures: string[] = [];
    server.on('error', (error) => failures.push(error.message));
    jest.spyOn((server as unknown as { logger: Logger }).logger, 'warn').mockImplementationOnce(() => {
      throw new Error('the log is full');
    });
    await send('NZ1Q', 'id-1', 'ok.value', 'j', '1');
    await eventually(
      () => server.getSocketStates().default?.reading,
      (reading) => reading === false,
    );
    expect(failures).toEqual(['the log is full']);
    expect(errors).toContain('Socket "default" stopped reading: the log is full');
    // What arrives now stays unread; closing does not wait for a loop that no longer reads it.
    await send(...event('ok.value'));
    await heldUnread(server);
    workers.pop();
    await within(app.close(), 3_000, 'server close (closeTimeout 10 s)');
  });

  it('does not report a read loop that fails while the server closes: the socket is going anyway', async () => {
    const { app, server, received, errors, send } = await start({ receiveBudget: 1024, maxMessageSize: 1024 });
    const failures: string[] = [];
    server.on('error', (error) => failures.push(error.message));
    // A running handler fills the budget: the bad frame behind it is read only once the server closes.
    await send(...event('parked'));
    await received.waitFor(1);
    await send('single frame');
    await heldUnread(server);
    jest.spyOn((server as unknown as { logger: Logger }).logger, 'warn').mockImplementationOnce(() => {
      throw new Error('the log is full');
    });
    workers.pop();
    const closing = app.close();
    release();
    await within(closing, 5_000, 'server close');
    expect(server.getMetrics().malformed).toBe(1);
    expect(failures).toEqual([]);
    expect(errors.filter((line) => line.includes('stopped reading'))).toEqual([]);
  });
});
