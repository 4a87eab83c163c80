import { Controller } from '@nestjs/common';
import { Ctx, MessagePattern, Payload, RpcException, type ReadPacket } from '@nestjs/microservices';
import { of } from 'rxjs';
import type { ZeroMqContext } from './zeromq.context.js';
import type { ZeroMqHandlerOutcome } from './zeromq.events.js';
import { HEADERS } from './internal/protocol/wire.js';
import type { ZeroMqServerOptions } from './zeromq.options.js';
import type { ZeroMqServer } from './zeromq.server.js';
import type { HandAnswer, HandProducer } from '../test/hand-producer.js';
import { startRouterWorker, type WatchedRouterWorker } from '../test/router-worker.js';
import { eventually } from '../test/waiting.js';

/** What the 'parked' request handler waits for. */
let parked = Promise.resolve();

/** Request handlers answering in each way a Nest handler can, or failing. */
@Controller()
class RequestsController {
  @MessagePattern('double')
  double(@Payload() n: number): number {
    return 2 * n;
  }

  @MessagePattern('nothing')
  nothing(): void {}

  @MessagePattern('observable')
  observable(@Payload() n: number) {
    return of(3 * n);
  }

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

  @MessagePattern('context')
  context(@Ctx() context: ZeroMqContext): unknown[] {
    return [context.getPattern(), context.getSocketName(), context.isPlainMessage()];
  }

  @MessagePattern('big')
  big(): { n: bigint } {
    return { n: 1n };
  }
}

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
  const workers: WatchedRouterWorker[] = [];

  afterEach(async () => {
    workers.forEach((worker) => worker.producer.close());
    await Promise.all(workers.splice(0).map((worker) => worker.app.close()));
  });

  const start = async (options: Omit<ZeroMqServerOptions, 'endpoints' | 'kind'> = {}, prepare?: (server: ZeroMqServer) => void) => {
    const worker = await startRouterWorker(options, [RequestsController], { hello: false, prepare });
    workers.push(worker);
    return { ...worker, client: worker.producer };
  };

  it('answers a request whose id is not ASCII under the very bytes of its id', async () => {
    const { client } = await start();
    // Ids are bytes (docs/protocol.md): "p\xe9.7" as one latin1 byte per character, not UTF-8.
    await client.sendRaw([HEADERS.requests, Buffer.from([0x70, 0xe9, 0x2e, 0x37]), 'double', 'j', '21']);
    expect(await client.answers()).toEqual([{ id: 'p\u00e9.7', status: 'd', data: 42 }]);
  });

  it('answers a stream value by value, an observable, a value as the last reply and a void handler with completion; reports each end', async () => {
    const testStarted = performance.now();
    // One request at a time: each must end (free its place) for the next to run.
    const { client, server } = await start({ concurrency: 1 });
    const ends: Array<[string, ZeroMqHandlerOutcome]> = [];
    const durations: number[] = [];
    server.on('handler-end', (context, durationMs, outcome) => {
      durations.push(durationMs);
      ends.push([context.getPattern(), outcome]);
    });
    await client.request('q.3', 'stream', 5);
    // Nest's way: each value but the last as a value of the stream ('n'), the last one with the end ('d').
    expect(await streamAnswers(client)).toEqual([
      { id: 'q.3', status: 'n', data: 5 },
      { id: 'q.3', status: 'd', data: 6 },
    ]);
    await client.request('q.0', 'observable', 3);
    expect(await client.answers()).toEqual([{ id: 'q.0', status: 'd', data: 9 }]);
    await client.request('q.1', 'double', 21);
    expect(await client.answers()).toEqual([{ id: 'q.1', status: 'd', data: 42 }]);
    await client.request('q.2', 'nothing', 0);
    expect(await client.answers()).toEqual([{ id: 'q.2', status: 'c', data: undefined }]);
    expect(ends).toEqual([
      ['stream', 'success'],
      ['observable', 'success'],
      ['double', 'success'],
      ['nothing', 'success'],
    ]);
    expect(server.getMetrics()).toMatchObject({ received: 4, handled: 4, failed: 0 });
    // Durations, not clock readings: none longer than this test has run.
    expect(Math.min(...durations)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...durations)).toBeLessThanOrEqual(performance.now() - testStarted);
  });

  it('gives a request handler its context: the pattern and socket, and a framed (not plain) message', async () => {
    const { client } = await start();
    await client.request('q.13', 'context', 0);
    expect(await client.answers()).toEqual([{ id: 'q.13', status: 'd', data: ['context', 'default', false] }]);
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
    expect(undecodable.data).toEqual({ status: 'error', message: expect.stringMatching(/^Undecodable request: .*JSON/) });
    await client.request('q.6', 'unreadable', 1);
    expect(await client.answers()).toEqual([{ id: 'q.6', status: 'e', data: { status: 'error', message: 'Undecodable request' } }]);
    await client.request('q.7', 'nobody.home', 1);
    expect(await client.answers()).toEqual([
      { id: 'q.7', status: 'e', data: 'There is no matching message handler defined in the remote service.' },
    ]);
    await client.request('q.8', 'big', 1);
    const [unserializable] = await client.answers();
    expect(unserializable).toMatchObject({ id: 'q.8', status: 'e' });
    expect(unserializable.data).toEqual({ status: 'error', message: expect.stringMatching(/^Response not serializable: .*BigInt/) });
    expect(server.getMetrics()).toMatchObject({ undecodable: 2, unknownPattern: 1 });
    expect(warnings).toContain('There is no matching message handler defined in the remote service. Message pattern: nobody.home');
  });

  it('runs requests inside the processing hooks; answers one whose hook fails with the internal error, and logs why', async () => {
    const { client, errors } = await start({ concurrency: 1 }, (server) =>
      server.setOnProcessingStartHook((_transport, context, done) =>
        (context as ZeroMqContext).getPattern() === 'double' ? Promise.reject(new Error('the hook broke')) : done(),
      ),
    );
    // One request at a time: the failed one must end too for the next to run.
    await client.request('q.9', 'double', 1);
    expect(await client.answers()).toEqual([{ id: 'q.9', status: 'e', data: { status: 'error', message: 'Internal server error' } }]);
    await client.request('q.11', 'stream', 1);
    expect(await streamAnswers(client)).toEqual([
      { id: 'q.11', status: 'n', data: 1 },
      { id: 'q.11', status: 'd', data: 2 },
    ]);
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
    workers.pop()!.producer.close();
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
