import { firstValueFrom } from 'rxjs';
import { ZeroMqClient, ZeroMqRecordBuilder, type ZeroMqClientOptions } from 'nestjs-zeromq';
import { AppProcess, type OutputLine } from '../scripts/lib/app-process.js';
import { ipcDir } from './helpers/endpoints.js';
import { SeededRandom } from './helpers/seeded-random.js';
import { eventually, within } from './helpers/waiting.js';

const KEYED_WORKER = 'dist/test/fixtures/keyed-worker.js';

interface Handled {
  key: string;
  seq: number;
  attempt: number;
  at: bigint;
}

const handledOf = (line: OutputLine): Handled | undefined => {
  const [word, key, seq, attempt, at] = line.message.split(' ');
  return word === 'handled' ? { key, seq: Number(seq), attempt: Number(attempt), at: BigInt(at) } : undefined;
};

describe('Ordered delivery by key, and expiry, across processes', () => {
  const children: AppProcess[] = [];
  const clients: ZeroMqClient[] = [];
  const ipc = ipcDir();

  async function startWorker(name: string, endpoint: string, env: Record<string, string> = {}) {
    const child = new AppProcess(name, process.execPath, [KEYED_WORKER], { env: { KEYED_WORKER_ENDPOINT: endpoint, ...env } });
    children.push(child);
    await child.waitFor((line) => line.message.startsWith('ready '), 30_000, `${name} ready`);
    return child;
  }

  function producer(endpoints: string[], options: Partial<ZeroMqClientOptions> = {}) {
    const client = new ZeroMqClient({
      endpoints,
      delivery: 'at-least-once',
      heartbeat: { interval: 200, timeout: 1_000 },
      key: (data) => (data as { key: string }).key,
      ...options,
    });
    clients.push(client);
    return client;
  }

  /** Every handled line of `workers`, in the order the handlers started (one monotonic clock per host). */
  const handled = (workers: AppProcess[]) =>
    workers
      .flatMap((worker) => worker.lines.map(handledOf).filter((line): line is Handled => line !== undefined))
      .sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close()));
    await Promise.all(children.splice(0).map((child) => child.kill()));
  });

  afterAll(() => ipc.cleanup());

  it('keeps each key in order with workers SIGKILLed and restarted: nothing lost, a repeat only of the latest', async () => {
    const keys = 1_000;
    const perKey = 50;
    const total = keys * perKey;
    const endpoints = [1, 2, 3, 4].map((n) => ipc.address(`order-${n}`));
    // Handlers that take a little time are often mid-run when their worker is killed: repeats happen.
    const work = { KEYED_WORKER_WORK_MS: '2' };
    const workers = await Promise.all(endpoints.map((endpoint, i) => startWorker(`worker-${i + 1}`, endpoint, work)));
    const everyWorker = [...workers];
    const client = producer(endpoints, { maxQueueSize: total + 1_000, ackTimeout: 5_000 });
    const emits: Array<Promise<unknown>> = [];
    for (let seq = 0; seq < perKey; seq++) {
      for (let k = 0; k < keys; k++) {
        emits.push(firstValueFrom(client.emit('keyed', { key: `k${k}`, seq }), { defaultValue: undefined }));
      }
    }
    const done = Promise.all(emits);
    let finished = false;
    void done.finally(() => (finished = true));
    const random = new SeededRandom(Number(process.env.FUZZ_SEED ?? 21));
    let kills = 0;
    for (let round = 0; round < 4 && !finished; round++) {
      // Mid-stream: the worker to kill has handled a few hundred messages since it started.
      const index = random.int(0, workers.length - 1);
      let seen = 0;
      const target = random.int(100, 600);
      const handledEnough = workers[index].waitFor(
        (line) => line.message.startsWith('handled ') && ++seen >= target,
        20_000,
        `${target} handled`,
      );
      // A loaded machine may finish the run before this worker handled that many: nothing left to kill.
      handledEnough.catch(() => undefined);
      await Promise.race([handledEnough, done]);
      if (finished) {
        break;
      }
      workers[index].signal('SIGKILL');
      await workers[index].exited;
      kills++;
      workers[index] = await startWorker(`worker-${index + 1}.${round + 1}`, endpoints[index], work);
      everyWorker.push(workers[index]);
    }
    await within(done, 80_000, 'every keyed message acknowledged');
    // An ack (ZeroMQ) can overtake the worker's stdout line: wait (bounded) for every line.
    await eventually(
      () => new Set(handled(everyWorker).map(({ key, seq }) => `${key}/${seq}`)).size,
      (distinct) => distinct >= total,
      10_000,
    ).catch(() => undefined);
    const lines = handled(everyWorker);
    const byKey = new Map<string, number[]>();
    for (const { key, seq } of lines) {
      byKey.set(key, [...(byKey.get(key) ?? []), seq]);
    }
    let repeats = 0;
    const disorders: string[] = [];
    for (const [key, seqs] of byKey) {
      for (let i = 1; i < seqs.length; i++) {
        // The next message, or a repeat of the latest one: never an older one, never a gap.
        if (seqs[i] === seqs[i - 1]) {
          repeats++;
        } else if (seqs[i] !== seqs[i - 1] + 1) {
          disorders.push(`${key}: ${seqs.slice(Math.max(0, i - 3), i + 2).join(',')}`);
        }
      }
    }
    console.log(
      `keyed at-least-once: ${keys} keys x ${perKey}, ${kills} SIGKILL + restart; ${lines.length} handled, ${repeats} repeats, ` +
        `redelivered ${client.getMetrics().redelivered}`,
    );
    expect(disorders).toEqual([]);
    // The kills hit messages in flight: they were delivered again, after their worker's loss.
    expect(kills).toBeGreaterThanOrEqual(2);
    expect(client.getMetrics().redelivered).toBeGreaterThan(0);
    expect(byKey.size).toBe(keys);
    expect([...byKey.values()].every((seqs) => seqs[0] === 0 && seqs.at(-1) === perKey - 1)).toBe(true);
    // A repeat of a message acked meanwhile (its first worker's ack was read after the resend) may
    // still run: its key stays held until the repeat is answered.
    await eventually(
      () => client.getMetrics().keysInFlight,
      (inFlight) => inFlight === 0,
      10_000,
    );
    expect(client.getMetrics()).toMatchObject({ acked: total, unacked: 0, deadLettered: 0, keysInFlight: 0, waitingBehindKey: 0 });
    // About 15 s on a quiet machine; the bounds leave room for a loaded one (CI runs suites in parallel).
  }, 150_000);

  it.each([
    ['block', [0, 1, 1, 1, 1, 1]],
    ['dead-letter', [0, 1, 1, 1, 2, 3]],
  ] as const)(
    "a poison message at the head of its key, keyedPoison '%s'",
    async (keyedPoison, expected) => {
      const endpoint = ipc.address(`poison-${keyedPoison}`);
      const worker = await startWorker(`poison-${keyedPoison}`, endpoint);
      const client = producer([endpoint], { keyedPoison, maxAttempts: 3, retryDelay: 20, maxRetryDelay: 50 });
      const outcomes = [0, 1, 2, 3].map((seq) =>
        firstValueFrom(client.emit('keyed', { key: 'p', seq, poison: seq === 1 }), { defaultValue: undefined }).then(
          () => 'acked',
          (error: Error) => error.message,
        ),
      );
      // Another key is not held up by the blocked one.
      await firstValueFrom(client.emit('keyed', { key: 'other', seq: 0 }), { defaultValue: undefined });
      const seqsOfP = () =>
        handled([worker])
          .filter(({ key }) => key === 'p')
          .map(({ seq }) => seq);
      await eventually(seqsOfP, (seqs) => seqs.length >= expected.length, 10_000);
      if (keyedPoison === 'dead-letter') {
        expect(await outcomes[1]).toMatch(/dead-lettered after 3 attempt\(s\)/);
        expect(await Promise.all([outcomes[0], outcomes[2], outcomes[3]])).toEqual(['acked', 'acked', 'acked']);
      } else {
        expect(client.getMetrics()).toMatchObject({ keysInFlight: 1, waitingBehindKey: 2, deadLettered: 0 });
      }
      expect(seqsOfP().slice(0, expected.length)).toEqual(expected);
    },
    30_000,
  );

  it('expiry: a frozen worker does not handle what expired meanwhile; every one is counted and dead-lettered', async () => {
    const endpoint = ipc.address('frozen');
    const worker = await startWorker('frozen', endpoint, { KEYED_WORKER_CREDIT: '8' });
    const client = producer([endpoint], { key: undefined, ackTimeout: 10_000 });
    const letters: string[] = [];
    client.on('dead-letter', (letter) => letters.push(letter.reason));
    await firstValueFrom(client.emit('keyed', { seq: -1 }), { defaultValue: undefined });
    worker.signal('SIGSTOP');
    const count = 20;
    const outcomes = Array.from({ length: count }, (_, seq) =>
      firstValueFrom(client.emit('keyed', new ZeroMqRecordBuilder({ seq }).setTtl(400).build()), { defaultValue: undefined }).then(
        () => 'acked',
        (error: Error) => error.message,
      ),
    );
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    worker.signal('SIGCONT');
    const results = await within(Promise.all(outcomes), 15_000, 'every expiring emit settled');
    expect(results.every((result) => /expired/.test(result))).toBe(true);
    expect(letters).toEqual(Array(count).fill('expired'));
    expect(client.getMetrics()).toMatchObject({ expired: count, acked: 1 });
    // After it resumed, the worker refused what it had been sent: no handler ran for them.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(handled([worker]).map(({ seq }) => seq)).toEqual([-1]);
  }, 30_000);
});
