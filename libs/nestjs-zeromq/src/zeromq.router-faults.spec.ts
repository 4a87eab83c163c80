import { jest } from '@jest/globals';
import type { Logger } from '@nestjs/common';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as zmq from 'zeromq';
import { LmdbLedger } from './internal/at-least-once/lmdb-ledger.js';
import { encodeHello, HEADERS } from './internal/protocol/wire.js';
import type { ZeroMqServerOptions } from './zeromq.options.js';
import { HandProducer } from '../test/hand-producer.js';
import { boundAddress } from '../test/nest-apps.js';
import { JobsController, startRouterWorker, type WatchedRouterWorker } from '../test/router-worker.js';
import { eventually } from '../test/waiting.js';

/** The error zeromq.js gives a send it cannot make (a ROUTER with `mandatory` set, to a peer that is gone). */
const unreachable = () => Object.assign(new Error('Host unreachable'), { code: 'EHOSTUNREACH' });

/**
 * What a dealer-router worker does when an answer of its own fails: a credit ZeroMQ refuses, a
 * completed id its durable ledger (server option `ledger`) writes late or cannot write. Real
 * sockets and a real LMDB ledger; the fault is injected where the library meets zeromq.js (the
 * server's own ROUTER, from `unwrap()`) or lmdb-js (LmdbLedger's write).
 */
describe('a dealer-router worker whose answers fail', () => {
  const workers: WatchedRouterWorker[] = [];
  const producers: HandProducer[] = [];
  const directories: string[] = [];

  afterEach(async () => {
    jest.restoreAllMocks();
    delete (zmq.Router.prototype as Partial<zmq.Router>).send;
    producers.splice(0).forEach((producer) => producer.close());
    workers.forEach((worker) => worker.producer.close());
    await Promise.all(workers.splice(0).map((worker) => worker.app.close()));
    await Promise.all(directories.splice(0).map((directory) => rm(directory, { recursive: true, force: true })));
  });

  const start = async (options: Omit<ZeroMqServerOptions, 'endpoints' | 'kind'> = {}) => {
    const worker = await startRouterWorker(options, [JobsController]);
    workers.push(worker);
    return worker;
  };

  const withLedger = async () => {
    const directory = await mkdtemp(join(tmpdir(), 'nz-router-ledger-'));
    directories.push(directory);
    return start({ ledger: { path: directory } });
  };

  it('logs a credit it could not send on hello as a send problem (one log kind with replies), and goes on answering', async () => {
    const { server, producer, warnings } = await start({ logInterval: 60_000 });
    const router = server.unwrap<Record<string, zmq.Router>>().default;
    // ZeroMQ refuses the next credit, and the next replies after it (zeromq.js's sockets are sealed
    // and their `send` read-only: the server's socket gets its `send` from Router.prototype here).
    const refused = new Set<string>([HEADERS.credit, HEADERS.replies]);
    const send = router.send;
    Object.defineProperty(zmq.Router.prototype, 'send', {
      configurable: true,
      value(this: zmq.Router, frames: zmq.MessageLike[]) {
        return this === router && refused.delete(String(frames[1])) ? Promise.reject(unreachable()) : send.call(this, frames);
      },
    });
    const late = new HandProducer();
    producers.push(late);
    await late.connect(boundAddress(server), false);
    await late.sendRaw(encodeHello('late-producer'));
    await eventually(
      () => warnings,
      (lines) => lines.length > 0,
    );
    expect(warnings).toEqual(['Cannot send credit on socket "default" (SEND_FAILED): Host unreachable']);
    // The ack ZeroMQ refuses next is counted; its line is held back (the same kind within logInterval).
    await producer.deliver('p.1', 1, 1);
    await eventually(
      () => server.getMetrics().repliesFailed,
      (failed) => failed === 1,
    );
    await producer.deliver('p.2', 1, 2);
    expect(await producer.acks()).toEqual(['p.2:a']);
    expect(warnings).toHaveLength(1);
    // A hello after the refusal is answered.
    await late.sendRaw(encodeHello('late-producer'));
    expect(await late.next()).toEqual({ kind: 'credit', window: producer.credit });
  });

  it('answers nothing to a delivery whose run threw (here its log line), and runs its redelivery again', async () => {
    const { server, producer, deadLetters } = await start();
    // The one fault a run can meet past its handler without touching the socket: a logger that throws.
    jest.spyOn((server as unknown as { logger: Logger }).logger, 'warn').mockImplementationOnce(() => {
      throw new Error('the log is full');
    });
    await producer.deliver('p.1', 1, 1, { pattern: 'nobody.listens' });
    await eventually(
      () => server.getSocketStates().default,
      (state) => state?.inFlight === 0 && server.getMetrics().unknownPattern === 1,
    );
    // No answer: the producer sends it again at its ack timeout, and this copy runs (it is no longer running).
    await producer.deliver('p.1', 2, 1, { pattern: 'nobody.listens' });
    expect(await producer.answers()).toEqual([{ id: 'p.1', status: 'x', data: 'no handler' }]);
    expect(deadLetters).toEqual([{ pattern: 'nobody.listens', messageId: 'p.1', attempts: 2, reason: 'no handler' }]);
    expect(server.getMetrics()).toMatchObject({ unknownPattern: 2, duplicates: 0, deadLettered: 1 });
  });

  it('writes a completed id to its durable ledger before the ack leaves', async () => {
    const { producer, received } = await withLedger();
    const record = LmdbLedger.prototype.record;
    let release = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    let asked: string[] = [];
    jest.spyOn(LmdbLedger.prototype, 'record').mockImplementation(async function (this: LmdbLedger, id: string) {
      asked = [...asked, id];
      await held;
      return record.call(this, id);
    });
    await producer.deliver('p.1', 1, 1);
    await received.waitFor(1);
    await eventually(
      () => asked,
      (ids) => ids.length === 1,
    );
    // A failure needs no write: its answer overtakes the ack held by the write.
    await producer.deliver('p.2', 1, 2, { pattern: 'jobs.rpc-failure' });
    expect(await producer.acks()).toEqual(['p.2:f']);
    release();
    expect(await producer.acks()).toEqual(['p.1:a']);
    expect(asked).toEqual(['p.1']);
  });

  it('acks a delivery whose id its durable ledger could not write, logs the failure, and acks a redelivery without running it', async () => {
    const { producer, server, received, errors } = await withLedger();
    jest.spyOn(LmdbLedger.prototype, 'record').mockRejectedValue(new Error('MDB_MAP_FULL: Environment mapsize limit reached'));
    await producer.deliver('p.1', 1, 1);
    expect(await producer.acks()).toEqual(['p.1:a']);
    expect(errors).toEqual(['The ledger could not write p.1 (acked all the same): MDB_MAP_FULL: Environment mapsize limit reached']);
    // Memory still knows it completed.
    await producer.deliver('p.1', 2, 1);
    expect(await producer.acks()).toEqual(['p.1:a']);
    expect(received.items).toHaveLength(1);
    expect(server.getMetrics()).toMatchObject({ handled: 1, duplicates: 1 });
  });
});
