import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import getPort from 'get-port';
import * as zmq from 'zeromq';
import { AppProcess } from '../scripts/lib/app-process.js';
import { decodeMessage, encodeHello, HEADERS, recordFields, type DecodedReply } from '../libs/nestjs-zeromq/src/internal/protocol/wire.js';
import { within } from './helpers/waiting.js';

/**
 * The worker's durable ledger across a SIGKILL: a plain DEALER (this test) plays a producer whose
 * ack was lost. It delivers a message, reads the worker's ack, kills the worker, restarts it on
 * the same ledger, and delivers the same message again (attempt 2, as a producer that never got
 * the ack would): with the ledger the new process acks it without running the handler; without
 * it (the control) the handler runs again.
 */
const ACK_WORKER = 'dist/test/fixtures/ack-worker.js';

describe('Durable ledger across a worker SIGKILL', () => {
  const children: AppProcess[] = [];
  let directory: string;
  let dealer: zmq.Dealer | undefined;

  beforeEach(() => {
    directory = mkdtempSync(join(tmpdir(), 'nestjs-zeromq-ledger-'));
  });

  afterEach(async () => {
    dealer?.close();
    dealer = undefined;
    await Promise.all(children.splice(0).map((child) => child.kill()));
    rmSync(directory, { recursive: true, force: true });
  });

  async function startWorker(name: string, endpoint: string, ledger: boolean) {
    const child = new AppProcess(name, process.execPath, [ACK_WORKER], {
      env: { ACK_WORKER_ENDPOINT: endpoint, ACK_WORKER_CREDIT: '8', ...(ledger ? { ACK_WORKER_LEDGER: join(directory, 'ledger') } : {}) },
    });
    children.push(child);
    await child.waitFor((line) => line.message.startsWith('ready '), 15_000, 'the ready line');
    return child;
  }

  /** Sends one delivery of message `id` and resolves with the worker's settlement of it. */
  async function deliver(socket: zmq.Dealer, id: string, attempt: number): Promise<DecodedReply> {
    const record = { pattern: 'jobs', info: 'j', payload: JSON.stringify({ seq: 1 }), size: 0 };
    await socket.send([HEADERS.deliveries, ...recordFields.delivery(id, attempt, 5, record)]);
    for (let read = 0; read < 10; read++) {
      const message = decodeMessage(await within(socket.receive(), 10_000, `the worker's answer to ${id}`), {
        maxPatternLength: 0,
        maxRecordsPerMessage: 100,
      });
      const reply = message.kind === 'replies' ? message.records.find((record) => record.id === id) : undefined;
      if (reply !== undefined) {
        return reply;
      }
    }
    throw new Error(`no settlement of ${id} in 10 messages`);
  }

  async function redeliverAfterKill(ledger: boolean) {
    const endpoint = `tcp://127.0.0.1:${await getPort({ host: '127.0.0.1' })}`;
    const first = await startWorker('worker-1', endpoint, ledger);
    dealer = new zmq.Dealer({ linger: 0, reconnectInterval: 50 });
    dealer.connect(endpoint);
    await dealer.send(encodeHello('raw-producer'));
    expect((await deliver(dealer, 'raw-producer.1', 1)).status).toBe('a');
    first.signal('SIGKILL');
    // Counted once the process is gone: `exited` waits for its output to be read, and the ack can
    // arrive over ZeroMQ before the parent has read the line the handler wrote before acking.
    await first.exited;
    expect(first.matching((line) => line.message.startsWith('handled 1 ')).length).toBe(1);
    const second = await startWorker('worker-2', endpoint, ledger);
    await dealer.send(encodeHello('raw-producer'));
    const again = await deliver(dealer, 'raw-producer.1', 2);
    second.signal('SIGKILL');
    await second.exited;
    return { status: again.status, ranAgain: second.matching((line) => line.message.startsWith('handled 1 ')).length };
  }

  it('acks a redelivery of a message completed before the kill without running it again', async () => {
    expect(await redeliverAfterKill(true)).toEqual({ status: 'a', ranAgain: 0 });
  }, 60_000);

  it('(control) without the ledger, the restarted worker runs it again', async () => {
    expect(await redeliverAfterKill(false)).toEqual({ status: 'a', ranAgain: 1 });
  }, 60_000);
});
