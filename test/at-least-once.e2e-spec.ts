import { firstValueFrom } from 'rxjs';
import { ZeroMqClient, type ZeroMqClientOptions } from 'nestjs-zeromq';
import { AppProcess, type OutputLine } from '../scripts/lib/app-process.js';
import { createTestHost, netnsUnavailable, type TestHost } from './helpers/netns.js';
import { itNeeding } from './helpers/needs-tool.js';
import { eventually, within } from './helpers/waiting.js';

const ACK_WORKER = 'dist/test/fixtures/ack-worker.js';
const isHandled = (line: OutputLine) => line.message.startsWith('handled ');
const seqOf = (line: OutputLine) => Number(line.message.split(' ')[1]);

describe('At-least-once across processes', () => {
  const children: AppProcess[] = [];
  const clients: ZeroMqClient[] = [];

  /** Starts the fixture worker; resolves with it and the address it bound. */
  async function startWorker(
    name: string,
    endpoint: string,
    credit: number,
    workMs: number,
    netns?: string,
    env: Record<string, string> = {},
  ) {
    const child = new AppProcess(name, process.execPath, [ACK_WORKER], {
      env: { ACK_WORKER_ENDPOINT: endpoint, ACK_WORKER_CREDIT: String(credit), ACK_WORKER_WORK_MS: String(workMs), ...env },
      netns,
    });
    children.push(child);
    const ready = await child.waitFor((line) => line.message.startsWith('ready '), 15_000, 'the ready line');
    return { child, address: ready.message.slice('ready '.length) };
  }

  function producer(endpoints: string[], options: Partial<ZeroMqClientOptions> = {}) {
    const client = new ZeroMqClient({
      endpoints,
      delivery: 'at-least-once',
      maxQueueSize: 50_000,
      heartbeat: { interval: 200, timeout: 1_000 },
      ...options,
    });
    clients.push(client);
    return client;
  }

  const emitJobs = (client: ZeroMqClient, from: number, count: number) =>
    Promise.all(
      Array.from({ length: count }, (_, i) => firstValueFrom(client.emit('jobs', { seq: from + i }), { defaultValue: undefined })),
    );

  const handledBy = (...workers: AppProcess[]) => workers.flatMap((worker) => worker.matching(isHandled).map(seqOf));

  /**
   * The handled lines of `workers` once `total` distinct jobs show. An ack (over ZeroMQ) can
   * overtake the worker's stdout line for the same job, so the last lines may still be on their way.
   */
  const handledLines = async (total: number, ...workers: AppProcess[]) => {
    await eventually(
      () => new Set(handledBy(...workers)).size,
      (distinct) => distinct >= total,
      10_000,
    ).catch(() => undefined);
    return handledBy(...workers);
  };

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close()));
    // A frozen (SIGSTOPped) child is woken first, so that nothing of it outlives the test.
    await Promise.all(
      children.splice(0).map((child) => {
        child.signal('SIGCONT');
        return child.kill();
      }),
    );
  });

  it('loses nothing when a worker is SIGKILLed mid-stream; duplicates stay within its credit', async () => {
    const credit = 16;
    const doomed = await startWorker('worker-1', 'tcp://127.0.0.1:*', credit, 0);
    const survivor = await startWorker('worker-2', 'tcp://127.0.0.1:*', credit, 0);
    const client = producer([doomed.address, survivor.address]);
    const total = 20_000;
    const done = emitJobs(client, 0, total);
    let seen = 0;
    await doomed.child.waitFor((line) => isHandled(line) && ++seen >= 3_000, 30_000, '3,000 jobs on worker-1');
    doomed.child.signal('SIGKILL');
    await within(done, 60_000, 'every job acknowledged');
    await doomed.child.exited;
    const handled = await handledLines(total, doomed.child, survivor.child);
    const distinct = new Set(handled);
    const duplicates = handled.length - total;
    console.log(
      `SIGKILL mid-stream: worker-1 handled ${doomed.child.matching(isHandled).length}, worker-2 ${survivor.child.matching(isHandled).length}; ` +
        `${distinct.size}/${total} distinct, ${duplicates} handled twice (credit ${credit}); redelivered ${client.getMetrics().redelivered}`,
    );
    expect(distinct.size).toBe(total);
    expect(duplicates).toBeLessThanOrEqual(credit);
    // The kill caught deliveries in flight: without this the test would prove nothing about redelivery.
    expect(client.getMetrics().redelivered).toBeGreaterThan(0);
    expect(client.getMetrics()).toMatchObject({ acked: total, unacked: 0, deadLettered: 0 });
  });

  it('gives work to a killed worker again once it restarts on its address', async () => {
    const first = await startWorker('worker-1', 'tcp://127.0.0.1:*', 8, 1);
    const other = await startWorker('worker-2', 'tcp://127.0.0.1:*', 8, 1);
    const client = producer([first.address, other.address]);
    await within(emitJobs(client, 0, 500), 30_000, 'the first 500 jobs');
    expect(first.child.matching(isHandled).length).toBeGreaterThan(0);
    await first.child.kill();
    await within(emitJobs(client, 500, 500), 30_000, '500 jobs with worker-1 down');
    const restarted = await startWorker('worker-1-restarted', first.address, 8, 1);
    // Its credit reaches the producer after the reconnect; from then on it gets work again.
    let next = 1_000;
    for (let round = 0; round < 50 && restarted.child.matching(isHandled).length === 0; round++) {
      await within(emitJobs(client, next, 100), 30_000, `round ${round} of jobs`);
      next += 100;
    }
    const rejoined = restarted.child.matching(isHandled).length;
    console.log(`restarted worker handled ${rejoined} of the ${next - 1_000} jobs sent after it came back`);
    expect(rejoined).toBeGreaterThan(0);
    expect(new Set(await handledLines(next, first.child, other.child, restarted.child)).size).toBe(next);
  });

  it('bypasses a frozen (SIGSTOPped) worker: heartbeats drop its connection and the other worker gets its share', async () => {
    const frozen = await startWorker('worker-frozen', 'tcp://127.0.0.1:*', 8, 1);
    const other = await startWorker('worker-other', 'tcp://127.0.0.1:*', 8, 1);
    // A frozen process's ZeroMQ threads stop too: its heartbeats stop (1 s timeout here), long before
    // the ackTimeout of 60 s would matter.
    const client = producer([frozen.address, other.address], { ackTimeout: 60_000 });
    const disconnected = new Promise<void>((resolve) => client.on('disconnect', () => resolve()));
    await within(emitJobs(client, 0, 200), 30_000, 'the first 200 jobs');
    expect(frozen.child.matching(isHandled).length).toBeGreaterThan(0);
    const done = emitJobs(client, 200, 1_000);
    frozen.child.signal('SIGSTOP');
    await within(disconnected, 10_000, 'the producer to drop the frozen worker (heartbeats)');
    await within(done, 30_000, 'every job acked with worker-frozen frozen');
    await handledLines(1_200, frozen.child, other.child);
    const sawFrozen = frozen.child.matching(isHandled).length;
    console.log(`frozen worker: handled ${sawFrozen} in all, redelivered ${client.getMetrics().redelivered}`);
    // Every job sent after the freeze that the frozen worker had not handled went to the other one.
    const handled = new Set(handledBy(frozen.child, other.child));
    expect(Array.from({ length: 1_200 }, (_, seq) => seq).filter((seq) => !handled.has(seq))).toEqual([]);
    expect(client.getMetrics()).toMatchObject({ acked: 1_200, unacked: 0, deadLettered: 0 });
  });

  // A delivery whose ack is late keeps its credit at the stalled worker until that worker answers
  // it or its connection drops, so the worker is sent nothing new while the other takes its work.
  it('bypasses a stalled worker (event loop blocked, heartbeats still answered) only through ackTimeout', async () => {
    const stalled = await startWorker('worker-stalled', 'tcp://127.0.0.1:*', 8, 1, undefined, {
      ACK_WORKER_STALL_AFTER: '50',
      ACK_WORKER_STALL_MS: '10000',
    });
    const other = await startWorker('worker-other', 'tcp://127.0.0.1:*', 8, 1);
    const client = producer([stalled.address, other.address], { ackTimeout: 1_000 });
    let disconnects = 0;
    client.on('disconnect', () => disconnects++);
    const done = emitJobs(client, 0, 1_000);
    const stall = await stalled.child.waitFor((line) => line.message.startsWith('stalled '), 30_000, 'the stall');
    const stallEnds = Number(stall.message.split(' ').at(-1));
    await within(done, 30_000, 'every job acked while worker-stalled is blocked');
    const finishedAt = Date.now();
    console.log(
      `stalled worker: all acked ${stallEnds - finishedAt} ms before its stall ended; redelivered ${client.getMetrics().redelivered}`,
    );
    expect(finishedAt).toBeLessThan(stallEnds);
    expect(client.getMetrics().redelivered).toBeGreaterThan(0);
    // Its ZeroMQ threads kept answering heartbeats (1 s timeout here): the connection never dropped.
    expect(disconnects).toBe(0);
  });

  describe('network partition (worker in its own network namespace)', () => {
    const withNetns = itNeeding('network namespaces (root or CAP_SYS_ADMIN, and iproute2)', netnsUnavailable());
    let host: TestHost | undefined;

    afterEach(() => {
      host?.remove();
      host = undefined;
    });

    withNetns('loses nothing and runs nothing twice when the link goes down for a few seconds mid-stream', async () => {
      host = createTestHost();
      const worker = await startWorker('worker-netns', `tcp://${host.address}:5570`, 8, 2, host.name);
      const client = producer([worker.address], { ackTimeout: 3_000 });
      const disconnected = new Promise<void>((resolve) => client.on('disconnect', () => resolve()));
      const total = 3_000;
      const done = emitJobs(client, 0, total);
      let seen = 0;
      await worker.child.waitFor((line) => isHandled(line) && ++seen >= 500, 30_000, '500 jobs before the partition');
      host.setLink(false);
      await within(disconnected, 10_000, 'the producer to notice the partition (heartbeats)');
      // The partition lasts a few seconds on purpose: that is the scenario, not a wait for a result.
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      host.setLink(true);
      await within(done, 60_000, 'every job acknowledged after the link came back');
      const handled = await handledLines(total, worker.child);
      console.log(
        `partition: ${new Set(handled).size}/${total} distinct, ${handled.length - total} handled twice, redelivered ${client.getMetrics().redelivered}`,
      );
      expect(new Set(handled).size).toBe(total);
      // The partition caught deliveries in flight; they came back to the same worker, which runs none
      // twice (it never got them, or it acks again those it completed: zeromq.redelivery.spec.ts).
      expect(client.getMetrics().redelivered).toBeGreaterThan(0);
      expect(handled.length).toBe(total);
      expect(client.getMetrics()).toMatchObject({ acked: total, unacked: 0 });
    });
  });
});
