import { firstValueFrom } from 'rxjs';
import { ZeroMqClient } from 'nestjs-zeromq';
import { AppProcess, type OutputLine } from '../scripts/lib/app-process.js';
import { publishPeers, SRV_ENDPOINT } from './helpers/discovery-lab.js';
import { TestDnsServer } from './helpers/dns-server.js';
import { eventually, within } from './helpers/waiting.js';

const KEYED_WORKER = 'dist/test/fixtures/keyed-worker.js';
const INTERVAL = 250;
const KEYS = 300;
/** Messages per key in each of the three phases (4 workers, 6, 4 again). */
const PER_PHASE = 20;

interface KeyedWorker {
  name: string;
  ip: string;
  port: number;
  process: AppProcess;
}

const handledOf = (line: OutputLine) => {
  const [word, key, seq, , at] = line.message.split(' ');
  return word === 'handled' ? { key, seq: Number(seq), at: BigInt(at) } : undefined;
};

/**
 * Keyed at-least-once while the worker set changes through DNS discovery (workers on their own
 * 127.0.0.x address, a DNS server playing a headless Service): order per key holds, and the keys
 * that change hands are those of the workers that came or went, about 1/N of them.
 */
describe('Keyed delivery while DNS scales the workers 4 → 6 → 4', () => {
  let dns: TestDnsServer;
  const workers: KeyedWorker[] = [];
  let client: ZeroMqClient | undefined;

  beforeEach(async () => {
    dns = await TestDnsServer.start();
  });

  afterEach(async () => {
    await client?.close();
    await Promise.all(workers.splice(0).map((worker) => worker.process.kill()));
    await dns.close();
  });

  async function startWorker(n: number): Promise<KeyedWorker> {
    const ip = `127.0.0.${n}`;
    const child = new AppProcess(`w-${n}`, process.execPath, [KEYED_WORKER], { env: { KEYED_WORKER_ENDPOINT: `tcp://${ip}:*` } });
    const worker = { name: `w-${n}`, ip, port: 0, process: child };
    workers.push(worker);
    const ready = await child.waitFor((line) => line.message.startsWith('ready '), 20_000, `w-${n} ready`);
    worker.port = Number(/:(\d+)$/.exec(ready.message)![1]);
    return worker;
  }

  it('holds order per key and moves about 1/N of the keys each way', async () => {
    const all: KeyedWorker[] = [];
    for (const batch of [
      [2, 3, 4],
      [5, 6, 7],
    ]) {
      all.push(...(await Promise.all(batch.map(startWorker))));
    }
    const four = all.slice(0, 4);
    publishPeers(dns, four);
    client = new ZeroMqClient({
      endpoints: [SRV_ENDPOINT],
      delivery: 'at-least-once',
      maxQueueSize: KEYS * PER_PHASE + 1_000,
      heartbeat: { interval: 200, timeout: 1_000 },
      key: (data) => (data as { key: string }).key,
      discovery: { servers: [dns.address], interval: INTERVAL, minRefreshInterval: 100, queryTimeout: 500, queryTries: 1 },
    });
    await client.connect();
    const sockets = (count: number) =>
      eventually(
        () => Object.keys(client!.getAddresses()).length,
        (n) => n === count,
        5 * INTERVAL + 10_000,
      );
    await sockets(4);

    /**
     * Emits phase `phase` (seqs phase*PER_PHASE …), changes DNS while its first half flows, waits for
     * every ack. The second half leaves once the client follows the change (and is connected to
     * every worker it lists), so that each key's last message of the phase goes where the new set
     * puts it however fast the first half went (it may be done before DNS is read again).
     */
    const phase = async (index: number, publish?: KeyedWorker[]) => {
      const emits: Array<Promise<unknown>> = [];
      const emit = (from: number, to: number) => {
        for (let i = from; i < to; i++) {
          for (let k = 0; k < KEYS; k++) {
            emits.push(firstValueFrom(client!.emit('keyed', { key: `k${k}`, seq: index * PER_PHASE + i }), { defaultValue: undefined }));
          }
        }
      };
      emit(0, PER_PHASE / 2);
      if (publish !== undefined) {
        publishPeers(dns, publish);
        await sockets(publish.length);
        await eventually(
          () => Object.values(client!.getMetrics().connections).filter((connections) => connections > 0).length,
          (connected) => connected >= publish.length,
          10_000,
        );
      }
      emit(PER_PHASE / 2, PER_PHASE);
      await within(Promise.all(emits), 60_000, `phase ${index + 1} acknowledged`);
    };
    await phase(0);
    await phase(1, all);
    await phase(2, four);

    const total = KEYS * PER_PHASE * 3;
    const lines = () =>
      all.flatMap((worker) =>
        worker.process.lines.flatMap((line) => {
          const handled = handledOf(line);
          return handled === undefined ? [] : [{ ...handled, worker: worker.name }];
        }),
      );
    await eventually(
      () => new Set(lines().map(({ key, seq }) => `${key}/${seq}`)).size,
      (distinct) => distinct >= total,
      10_000,
    ).catch(() => undefined);
    const sorted = lines().sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
    const seqs = new Map<string, number[]>();
    /** The worker that handled each key's last message of each phase. */
    const owners = [new Map<string, string>(), new Map<string, string>(), new Map<string, string>()];
    for (const { key, seq, worker } of sorted) {
      seqs.set(key, [...(seqs.get(key) ?? []), seq]);
      owners[Math.floor(seq / PER_PHASE)].set(key, worker);
    }
    const disorders = [...seqs].filter(([, list]) => list.some((seq, i) => i > 0 && seq !== list[i - 1] && seq !== list[i - 1] + 1));
    const keys = [...owners[0].keys()];
    const movedUp = keys.filter((key) => owners[0].get(key) !== owners[1].get(key));
    const movedDown = keys.filter((key) => owners[1].get(key) !== owners[2].get(key));
    const added = new Set(all.slice(4).map(({ name }) => name));
    console.log(
      `keyed, DNS scaling 4 → 6 → 4 (${KEYS} keys × ${PER_PHASE} per phase): keys moved 4 → 6: ${movedUp.length} ` +
        `(${((100 * movedUp.length) / KEYS).toFixed(1)}%, ideal 33.3%), 6 → 4: ${movedDown.length} ` +
        `(${((100 * movedDown.length) / KEYS).toFixed(1)}%); redelivered ${client.getMetrics().redelivered}`,
    );
    expect(disorders).toEqual([]);
    expect(seqs.size).toBe(KEYS);
    expect([...seqs.values()].every((list) => new Set(list).size === PER_PHASE * 3)).toBe(true);
    // Up: the keys that moved went to the new workers; down: only the keys of the removed ones moved.
    expect(movedUp.every((key) => added.has(owners[1].get(key)!))).toBe(true);
    expect(movedDown.every((key) => added.has(owners[1].get(key)!))).toBe(true);
    // Rendezvous hashing keeps no state: back at the same four workers, every key is back at its first owner.
    expect(keys.filter((key) => owners[2].get(key) !== owners[0].get(key))).toEqual([]);
    expect(movedUp.length / KEYS).toBeGreaterThan(0.2);
    expect(movedUp.length / KEYS).toBeLessThan(0.47);
    expect(client.getMetrics()).toMatchObject({ acked: total, unacked: 0, deadLettered: 0 });
  }, 90_000);
});
