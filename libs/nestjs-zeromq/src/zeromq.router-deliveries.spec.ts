import type { ReadPacket } from '@nestjs/microservices';
import { encodeHello, HEADERS } from './internal/protocol/wire.js';
import type { ZeroMqServerOptions } from './zeromq.options.js';
import { HandProducer, type HandAnswer } from '../test/hand-producer.js';
import { boundAddress } from '../test/nest-apps.js';
import { JobsController, startRouterWorker, type WatchedRouterWorker } from '../test/router-worker.js';

/**
 * What a ROUTER socket answers to each at-least-once delivery it reads, on the wire (acks, their
 * statuses and reasons), in its counters, its dead letters and its log (docs/delivery.md).
 */
describe('a dealer-router worker answering deliveries', () => {
  const workers: WatchedRouterWorker[] = [];
  const hands: HandProducer[] = [];

  afterEach(async () => {
    hands.splice(0).forEach((hand) => hand.close());
    workers.forEach((worker) => worker.producer.close());
    await Promise.all(workers.splice(0).map((worker) => worker.app.close()));
  });

  const start = async (options: Omit<ZeroMqServerOptions, 'endpoints' | 'kind'> = {}) => {
    const worker = await startRouterWorker(options, [JobsController]);
    workers.push(worker);
    return worker;
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

  it("runs nothing that comes on a connection before its hello, answering each 'h': the same producer id's hello on another connection is not enough", async () => {
    const { producer: greeted, server, received } = await start();
    const producer = new HandProducer();
    hands.push(producer);
    // Another connection (a reconnect) of the producer whose hello the worker had on the first.
    await producer.connect(boundAddress(server), false);
    // With a record whose id cannot be read: nothing to answer it with.
    await producer.sendRaw([HEADERS.deliveries, 'p.1', '1/5', 'jobs', 'j', '{"seq":1}', '', '1/5', 'jobs', 'j', '{"seq":0}']);
    await producer.deliverUndecodable('p.2');
    const answers: HandAnswer[] = [];
    while (answers.length < 2) {
      answers.push(...(await producer.answers()));
    }
    expect(answers).toEqual([
      { id: 'p.1', status: 'h', data: undefined },
      { id: 'p.2', status: 'h', data: undefined },
    ]);
    expect(received.items).toEqual([]);
    expect(server.getMetrics()).toMatchObject({ beforeHello: 3, handled: 0, undecodable: 0, deadLettered: 0, duplicates: 0 });
    await producer.sendRaw(encodeHello('hand-producer'));
    expect(await producer.next()).toEqual({ kind: 'credit', window: greeted.credit });
    await producer.deliver('p.1', 1, 1);
    expect(await producer.acks()).toEqual(['p.1:a']);
    expect(received.items.map(({ context }) => context.getMessageId())).toEqual(['p.1']);
    expect(server.getMetrics()).toMatchObject({ beforeHello: 3, handled: 1 });
  });

  it('acks a delivery whose id is not ASCII with the very bytes of its id', async () => {
    const { producer, received } = await start();
    // Ids are bytes (docs/protocol.md): "p\xe9.1" as one latin1 byte per character, not UTF-8.
    await producer.sendRaw([HEADERS.deliveries, Buffer.from([0x70, 0xe9, 0x2e, 0x31]), '1/5', 'jobs', 'j', '{"seq":1}']);
    expect(await producer.acks()).toEqual(['p\u00e9.1:a']);
    expect(received.items.map(({ context }) => context.getMessageId())).toEqual(['p\u00e9.1']);
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
