import { Controller, Inject, type Logger } from '@nestjs/common';
import { Ctx, EventPattern, MessagePattern, Payload, RpcException, type ReadPacket } from '@nestjs/microservices';
import { of } from 'rxjs';
import { jest } from '@jest/globals';
import type { ZeroMqContext } from './zeromq.context.js';
import type { ZeroMqDeadLetter, ZeroMqHandlerOutcome } from './zeromq.events.js';
import type { ZeroMqServerOptions } from './zeromq.options.js';
import { ZeroMqServer } from './zeromq.server.js';
import { boundAddress, RECEIVED, startWorker, type Received, type Worker } from '../test/nest-apps.js';
import { LOOPBACK_ANY_PORT } from '../test/endpoints.js';
import { HandProducer, type HandAnswer } from '../test/hand-producer.js';
import { eventually, type Collector } from '../test/waiting.js';

/** What the 'parked' request handler waits for. */
let parked = Promise.resolve();

/** Jobs that succeed, or fail as their payload says: `{ rpc }` with an RpcException, `{ plain }` with an Error Nest hides. */
@Controller()
class JobsController {
  constructor(@Inject(RECEIVED) private readonly received: Collector<Received>) {}

  @EventPattern<string>('jobs')
  job(@Payload() data: { seq: number }, @Ctx() context: ZeroMqContext): void {
    this.received.add({ pattern: 'jobs', data, context });
  }

  @EventPattern<string>('jobs.rpc-failure')
  rpcFailure(@Payload() data: { seq: number }): never {
    throw new RpcException(`job ${data.seq} is not possible`);
  }

  @EventPattern<string>('jobs.plain-failure')
  plainFailure(@Payload() data: { seq: number }): never {
    throw new Error(`job ${data.seq} broke`);
  }

  @MessagePattern('double')
  double(@Payload() n: number): number {
    return 2 * n;
  }

  @MessagePattern('nothing')
  nothing(): void {}

  @MessagePattern('stream')
  stream(@Payload() n: number) {
    return of(n, n + 1);
  }

  @MessagePattern('refuse')
  refuse(): never {
    throw new RpcException('refused');
  }

  @MessagePattern('parked')
  async parked(): Promise<number> {
    await parked;
    return 1;
  }

  @MessagePattern('big')
  big(): { n: bigint } {
    return { n: 1n };
  }
}

/**
 * What a ROUTER socket answers to each at-least-once delivery it reads, on the wire (acks, their
 * statuses and reasons), in its counters, its dead letters and its log (docs/delivery.md).
 */
describe('a dealer-router worker answering deliveries', () => {
  const workers: Worker[] = [];
  const producers: HandProducer[] = [];

  afterEach(async () => {
    producers.splice(0).forEach((producer) => producer.close());
    await Promise.all(workers.splice(0).map((worker) => worker.app.close()));
  });

  /** A worker whose warnings and dead letters are kept, and a hand producer that said hello. */
  const start = async (options: Omit<ZeroMqServerOptions, 'endpoints' | 'kind'> = {}) => {
    const server = new ZeroMqServer({ endpoints: [LOOPBACK_ANY_PORT], kind: 'dealer-router', logInterval: 0, ...options });
    const warnings: string[] = [];
    jest
      .spyOn((server as unknown as { logger: Logger }).logger, 'warn')
      .mockImplementation((line: unknown) => void warnings.push(String(line)));
    const deadLetters: ZeroMqDeadLetter[] = [];
    server.on('dead-letter', (letter) => deadLetters.push(letter));
    const worker = await startWorker(server, [JobsController]);
    workers.push(worker);
    const producer = new HandProducer();
    producers.push(producer);
    await producer.connect(boundAddress(server));
    return { ...worker, warnings, deadLetters, producer };
  };

  it('grants the configured credit on hello, and runs a delivery with its id, attempt (not the last) and key in the context', async () => {
    const { producer, received } = await start({ credit: 7 });
    expect(producer.credit).toBe(7);
    await producer.deliver('p.1', 2, 1, { maxAttempts: 4, metadata: { 'nz-key': 'customer-9' } });
    expect(await producer.answers()).toEqual([{ id: 'p.1', status: 'a', data: undefined }]);
    const { context } = received.items[0];
    expect([context.getMessageId(), context.getAttempt(), context.isLastAttempt(), context.getKey()]).toEqual([
      'p.1',
      2,
      false,
      'customer-9',
    ]);
    expect([context.getSocketName(), context.isPlainMessage()]).toEqual(['default', false]);
  });

  it('refuses an undecodable delivery for good with its reason, and dead-letters it under "?" with no attempt', async () => {
    const { producer, server, deadLetters, warnings } = await start();
    await producer.deliverUndecodable('p.9');
    const [answer] = await producer.answers();
    expect(answer).toMatchObject({ id: 'p.9', status: 'x' });
    expect(answer.data).toMatch(/JSON/);
    expect(deadLetters).toEqual([{ pattern: '?', messageId: 'p.9', attempts: 0, reason: `undecodable: ${answer.data as string}` }]);
    expect(server.getMetrics()).toMatchObject({ undecodable: 1, deadLettered: 1, handled: 0 });
    expect(warnings).toContain(`Dead letter: "?" p.9 after 0 attempt(s): undecodable: ${answer.data as string}`);
  });

  it('refuses a delivery without handler for good ("no handler"), dead-letters it with its attempt and logs the pattern', async () => {
    const { producer, server, deadLetters, warnings } = await start();
    await producer.deliver('p.2', 3, 2, { pattern: 'nobody.listens' });
    expect(await producer.answers()).toEqual([{ id: 'p.2', status: 'x', data: 'no handler' }]);
    expect(deadLetters).toEqual([{ pattern: 'nobody.listens', messageId: 'p.2', attempts: 3, reason: 'no handler' }]);
    expect(server.getMetrics()).toMatchObject({ received: 1, unknownPattern: 1, deadLettered: 1 });
    expect(warnings).toEqual([
      'There is no matching event handler defined in the remote service. Event pattern: nobody.listens',
      'Dead letter: "nobody.listens" p.2 after 3 attempt(s): no handler',
    ]);
  });

  it('refuses a delivery its deserializer cannot read for good ("undecodable"), without counting an unknown pattern', async () => {
    const deserialize = (record: { pattern: string; data: unknown }): ReadPacket => {
      if (record.pattern === 'jobs') {
        throw new Error('cannot read it');
      }
      return { pattern: record.pattern, data: record.data };
    };
    const { producer, server, deadLetters } = await start({ deserializer: { deserialize } });
    await producer.deliver('p.3', 1, 3);
    expect(await producer.answers()).toEqual([{ id: 'p.3', status: 'x', data: 'undecodable' }]);
    expect(deadLetters).toEqual([{ pattern: 'jobs', messageId: 'p.3', attempts: 1, reason: 'undecodable' }]);
    expect(server.getMetrics()).toMatchObject({ received: 1, undecodable: 1, unknownPattern: 0, deadLettered: 1 });
  });

  it('refuses an expired delivery for good ("expired") without running it or dead-lettering it', async () => {
    const { producer, server, received, deadLetters } = await start();
    await producer.deliver('p.4', 1, 4, { metadata: { 'nz-expires-at': String(Date.now() - 1_000) } });
    expect(await producer.answers()).toEqual([{ id: 'p.4', status: 'x', data: 'expired' }]);
    expect(received.items).toEqual([]);
    expect(deadLetters).toEqual([]);
    expect(server.getMetrics()).toMatchObject({ expired: 1, received: 0, deadLettered: 0 });
  });

  it("answers a failure 'f' with the handler's reason, dead-letters it only at its last attempt, and runs a retry again", async () => {
    const { producer, server, deadLetters, warnings } = await start();
    await producer.deliver('p.5', 1, 5, { pattern: 'jobs.rpc-failure', maxAttempts: 2 });
    expect(await producer.answers()).toEqual([{ id: 'p.5', status: 'f', data: 'job 5 is not possible' }]);
    expect(deadLetters).toEqual([]);
    // The retry runs again (a failed id is not remembered as completed), and fails for the last time.
    await producer.deliver('p.5', 2, 5, { pattern: 'jobs.rpc-failure', maxAttempts: 2 });
    expect(await producer.answers()).toEqual([{ id: 'p.5', status: 'f', data: 'job 5 is not possible' }]);
    expect(deadLetters).toEqual([{ pattern: 'jobs.rpc-failure', messageId: 'p.5', attempts: 2, reason: 'job 5 is not possible' }]);
    expect(warnings).toContain('Dead letter: "jobs.rpc-failure" p.5 after 2 attempt(s): job 5 is not possible');
    expect(server.getMetrics()).toMatchObject({ failed: 2, handled: 0, duplicates: 0, deadLettered: 1 });
  });

  it("says how to pass on a handler's error that Nest's exception filter hides", async () => {
    const { producer } = await start();
    await producer.deliver('p.6', 1, 6, { pattern: 'jobs.plain-failure' });
    const [answer] = await producer.answers();
    expect(answer).toMatchObject({ id: 'p.6', status: 'f' });
    expect(answer.data).toBe(
      "Internal server error: Nest's exception filter hides the handler's error (logged on the worker by RpcExceptionsHandler); " +
        'throw an RpcException, or use an exception filter, to pass its message here',
    );
  });
});

/** The answers to a stream request until its last (`n` values then `d`: in one message or more). */
async function streamAnswers(client: HandProducer): Promise<HandAnswer[]> {
  const answers = await client.answers();
  for (let reads = 0; reads < 2 && answers.at(-1)?.status === 'n'; reads++) {
    answers.push(...(await client.answers()));
  }
  return answers;
}

/** What a ROUTER socket answers to each request (`send()`) it reads, on the wire, in its counters, events and log. */
describe('a dealer-router worker answering requests', () => {
  const workers: Worker[] = [];
  const producers: HandProducer[] = [];

  afterEach(async () => {
    producers.splice(0).forEach((producer) => producer.close());
    await Promise.all(workers.splice(0).map((worker) => worker.app.close()));
  });

  /** A worker whose warnings and errors are kept, and a hand client (no hello: requests need none). */
  const start = async (options: Omit<ZeroMqServerOptions, 'endpoints' | 'kind'> = {}, prepare = (_server: ZeroMqServer) => {}) => {
    const server = new ZeroMqServer({ endpoints: [LOOPBACK_ANY_PORT], kind: 'dealer-router', logInterval: 0, ...options });
    const logger = (server as unknown as { logger: Logger }).logger;
    const warnings: string[] = [];
    const errors: string[] = [];
    jest.spyOn(logger, 'warn').mockImplementation((line: unknown) => void warnings.push(String(line)));
    jest.spyOn(logger, 'error').mockImplementation((line: unknown) => void errors.push(String(line)));
    prepare(server);
    const worker = await startWorker(server, [JobsController]);
    workers.push(worker);
    const client = new HandProducer();
    producers.push(client);
    await client.connect(boundAddress(server), false);
    return { ...worker, warnings, errors, client };
  };

  it('answers a value as the last reply, a void handler with completion, and a stream value by value; reports each end', async () => {
    const testStarted = performance.now();
    // One request at a time: each must end (free its place) for the next to run.
    const { client, server } = await start({ concurrency: 1 });
    const ends: Array<[string, ZeroMqHandlerOutcome]> = [];
    const durations: number[] = [];
    server.on('handler-end', (context, durationMs, outcome) => {
      durations.push(durationMs);
      ends.push([context.getPattern(), outcome]);
    });
    await client.request('q.1', 'double', 21);
    expect(await client.answers()).toEqual([{ id: 'q.1', status: 'd', data: 42 }]);
    await client.request('q.2', 'nothing', 0);
    expect(await client.answers()).toEqual([{ id: 'q.2', status: 'c', data: undefined }]);
    await client.request('q.3', 'stream', 5);
    // Nest's way: each value but the last as a value of the stream ('n'), the last one with the end ('d').
    expect(await streamAnswers(client)).toEqual([
      { id: 'q.3', status: 'n', data: 5 },
      { id: 'q.3', status: 'd', data: 6 },
    ]);
    expect(ends).toEqual([
      ['double', 'success'],
      ['nothing', 'success'],
      ['stream', 'success'],
    ]);
    expect(server.getMetrics()).toMatchObject({ received: 3, handled: 3, failed: 0 });
    // Durations, not clock readings: none longer than this test has run.
    expect(Math.min(...durations)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...durations)).toBeLessThanOrEqual(performance.now() - testStarted);
  });

  it("answers a handler's error as an error reply, counts it failed and reports it as an error", async () => {
    const { client, server } = await start();
    const ends: ZeroMqHandlerOutcome[] = [];
    const handlerErrors: unknown[] = [];
    server.on('handler-end', (_context, _durationMs, outcome) => ends.push(outcome));
    server.on('handler-error', (error) => handlerErrors.push(error));
    await client.request('q.4', 'refuse', 0);
    expect(await client.answers()).toEqual([{ id: 'q.4', status: 'e', data: { status: 'error', message: 'refused' } }]);
    expect(ends).toEqual(['error']);
    expect(handlerErrors).toHaveLength(1);
    expect(server.getMetrics()).toMatchObject({ handled: 0, failed: 1 });
  });

  it('answers what it cannot read, a pattern without handler and a response it cannot serialize with an error saying so', async () => {
    const deserialize = (record: { pattern: string; data: unknown }): ReadPacket => {
      if (record.pattern === 'unreadable') {
        throw new Error('cannot read it');
      }
      return { pattern: record.pattern, data: record.data };
    };
    const { client, server, warnings } = await start({ deserializer: { deserialize } });
    await client.sendRaw(['NZ1Q', 'q.5', 'double', 'j', '{not json']);
    const [undecodable] = await client.answers();
    expect(undecodable).toMatchObject({ id: 'q.5', status: 'e' });
    expect((undecodable.data as { message: string }).message).toMatch(/^Undecodable request: .*JSON/);
    await client.request('q.6', 'unreadable', 1);
    expect(await client.answers()).toEqual([{ id: 'q.6', status: 'e', data: { status: 'error', message: 'Undecodable request' } }]);
    await client.request('q.7', 'nobody.home', 1);
    expect(await client.answers()).toEqual([
      { id: 'q.7', status: 'e', data: 'There is no matching message handler defined in the remote service.' },
    ]);
    await client.request('q.8', 'big', 1);
    const [unserializable] = await client.answers();
    expect(unserializable).toMatchObject({ id: 'q.8', status: 'e' });
    expect((unserializable.data as { message: string }).message).toMatch(/^Response not serializable: .*BigInt/);
    expect(server.getMetrics()).toMatchObject({ undecodable: 2, unknownPattern: 1 });
    expect(warnings).toContain('There is no matching message handler defined in the remote service. Message pattern: nobody.home');
  });

  it('runs requests inside the processing hooks; answers one whose hook fails with the internal error, and logs why', async () => {
    const { client, errors } = await start({}, (server) =>
      server.setOnProcessingStartHook((_transport, context, done) =>
        (context as ZeroMqContext).getPattern() === 'double' ? Promise.reject(new Error('the hook broke')) : done(),
      ),
    );
    await client.request('q.11', 'stream', 1);
    expect(await streamAnswers(client)).toEqual([
      { id: 'q.11', status: 'n', data: 1 },
      { id: 'q.11', status: 'd', data: 2 },
    ]);
    await client.request('q.9', 'double', 1);
    expect(await client.answers()).toEqual([{ id: 'q.9', status: 'e', data: { status: 'error', message: 'Internal server error' } }]);
    expect(errors).toContain('A request handler could not run: the hook broke');
  });

  it("answers a request whose handler throws past Nest's exception layer (one added by hand) with the internal error", async () => {
    const { client, errors } = await start({}, (server) =>
      server.addHandler('raw', () => Promise.reject(new Error('raw handler broke')) as Promise<never>),
    );
    await client.request('q.10', 'raw', 1);
    expect(await client.answers()).toEqual([{ id: 'q.10', status: 'e', data: { status: 'error', message: 'Internal server error' } }]);
    expect(errors).toContain('A request handler could not run: raw handler broke');
  });

  it('counts and logs a reply it could no longer send: its handler ended after the server closed', async () => {
    let release = () => {};
    parked = new Promise((resolve) => (release = resolve));
    const { client, server, warnings, app } = await start({ closeTimeout: 50 });
    await client.request('q.12', 'parked', 1);
    await eventually(
      () => server.getSocketStates().default?.inFlight,
      (inFlight) => inFlight === 1,
    );
    workers.pop();
    await app.close();
    release();
    await eventually(
      () => server.getMetrics().repliesFailed,
      (failed) => failed === 1,
    );
    expect(warnings.filter((line) => line.includes('q.12'))).toEqual([
      expect.stringMatching(/^Cannot send reply q\.12 on socket "default"/),
    ]);
  });
});
