import { Controller } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import * as zmq from 'zeromq';
import { boundAddress, startWorker, type Worker } from '../test/nest-apps.js';
import { LOOPBACK_ANY_PORT } from '../test/endpoints.js';
import { Collector, eventually } from '../test/waiting.js';

const KiB = 1024;

/** Held handlers: each waits until the test releases them all. */
const held = { started: new Collector<number>(), releases: [] as Array<() => void> };

@Controller()
class HeldController {
  @EventPattern('held')
  async hold(@Payload() data: Buffer): Promise<void> {
    held.started.add(data.readUInt32BE(0));
    await new Promise<void>((resolve) => held.releases.push(resolve));
  }
}

const releaseAll = () => held.releases.splice(0).forEach((release) => release());

/** A framed event carrying `bytes` of binary payload that start with `seq`. */
function event(seq: number, bytes: number): Array<string | Buffer> {
  const payload = Buffer.alloc(bytes);
  payload.writeUInt32BE(seq, 0);
  return ['NZ1E', 'held', 'b', payload];
}

describe('ZeroMqServer receive budget', () => {
  let worker: Worker;
  let push: zmq.Push;

  beforeEach(() => {
    held.started = new Collector<number>();
    held.releases = [];
  });

  afterEach(async () => {
    releaseAll();
    push?.close();
    await worker?.app.close();
  });

  async function start(receiveBudget: number, maxMessageSize: number) {
    worker = await startWorker({ endpoints: [LOOPBACK_ANY_PORT], receiveBudget, maxMessageSize }, [HeldController]);
    push = new zmq.Push({ linger: 0, sendTimeout: 5_000 });
    push.connect(boundAddress(worker.server));
  }

  it('stops reading while one more message would not fit, shows the bytes held, and reads on as handlers end', async () => {
    await start(64 * KiB, 16 * KiB);
    const state = () => worker.server.getSocketStates().default;
    for (let seq = 0; seq < 10; seq++) {
      await push.send(event(seq, 10 * KiB));
    }
    // It reads while a message of maxMessageSize (16 KiB) still fits in the 64 KiB: 5 of ~10 KiB, then it waits.
    await held.started.waitFor(5);
    await eventually(
      () => worker.server.getMetrics().budgetPauses,
      (pauses) => pauses > 0,
    );
    expect(held.started.items).toHaveLength(5);
    expect(state().receiveBudget).toBe(64 * KiB);
    expect(state().heldBytes).toBeGreaterThan(48 * KiB);
    expect(state().heldBytes).toBeLessThanOrEqual(64 * KiB);
    releaseAll();
    await held.started.waitFor(10);
    releaseAll();
    await eventually(
      () => state().heldBytes,
      (bytes) => bytes === 0,
    );
    expect(worker.server.getMetrics()).toMatchObject({ handled: 10, oversized: 0 });
  });

  it('lets a message larger than the budget through alone, counts it, and reads on after it', async () => {
    await start(32 * KiB, 256 * KiB);
    await push.send(event(0, 4 * KiB));
    await held.started.waitFor(1);
    await push.send(event(1, 200 * KiB));
    await push.send(event(2, 4 * KiB));
    // The large one waits in ZeroMQ while anything is held: nothing else can share the budget with it.
    await eventually(
      () => worker.server.getMetrics().budgetPauses,
      (pauses) => pauses > 0,
    );
    expect(held.started.items).toEqual([0]);
    releaseAll();
    await held.started.waitFor(2);
    expect(held.started.items).toEqual([0, 1]);
    expect(worker.server.getMetrics()).toMatchObject({ oversized: 1 });
    expect(worker.server.getSocketStates().default.heldBytes).toBeGreaterThan(200 * KiB);
    releaseAll();
    await held.started.waitFor(3);
    releaseAll();
    await eventually(
      () => worker.server.getMetrics(),
      (metrics) => metrics.handled === 3 && metrics.heldBytes === 0,
    );
  });

  it('without maxMessageSize (-1) reads while the bytes held are at most the budget, to the byte', async () => {
    // Each message is 16 bytes (4 + 4 + 1 + 7): three held (48) leave room, the fourth makes 64 > 63.
    await start(63, -1);
    for (let seq = 0; seq < 6; seq++) {
      await push.send(event(seq, 7));
    }
    await held.started.waitFor(4);
    await eventually(
      () => worker.server.getMetrics().budgetPauses,
      (pauses) => pauses > 0,
    );
    expect(worker.server.getSocketStates().default.heldBytes).toBe(64);
    expect(held.started.items).toEqual([0, 1, 2, 3]);
  });

  it("shares a message's bytes between its records: a batch holds its own size, not one per record", async () => {
    await start(64 * KiB, 16 * KiB);
    const records = [0, 1, 2, 3].flatMap((seq) => event(seq, 1_000).slice(1));
    await push.send(['NZ1E', ...records]);
    await held.started.waitFor(4);
    const size = 4 + 4 * (4 + 1 + 1_000);
    // Each record holds its share rounded up: at most a byte more per record.
    const heldBytes = worker.server.getSocketStates().default.heldBytes;
    expect(heldBytes).toBeGreaterThanOrEqual(size);
    expect(heldBytes).toBeLessThanOrEqual(size + 3);
  });
});
