import { AppProcess } from '../scripts/lib/app-process.js';
import { publishPeers, SRV_ENDPOINT } from './helpers/discovery-lab.js';
import { TestDnsServer } from './helpers/dns-server.js';
import { eventually, within } from './helpers/waiting.js';

const SERVERS = 'dist/test/fixtures/peer-servers.js';
const PRODUCER = 'dist/test/fixtures/peer-producer.js';
/** Worker processes × servers each: 64 workers, each on its own loopback address (127.0.1.1-64). */
const PROCESSES = 4;
const SERVERS_PER_PROCESS = 16;
/** Messages per measured run: 20,000 in CI; PEERS_MESSAGES=100000 for steadier figures. */
const MESSAGES = Number(process.env.PEERS_MESSAGES ?? 20_000);

interface RunResult {
  connections: number;
  connectMs: number;
  perSecond: number;
  before: { rss: number; heapUsed: number };
  connected: { rss: number; heapUsed: number };
  sent: { rss: number; heapUsed: number };
  failed: number;
  acked: number;
}

const MiB = 1024 * 1024;
const mib = (bytes: number) => (bytes / MiB).toFixed(1);
const kib = (bytes: number) => (bytes / 1024).toFixed(0);

/**
 * One producer and 64 workers found through DNS: throughput and memory measured and printed (the
 * figures behind docs/kubernetes.md's capacity section), not asserted against time. The producer
 * runs in a process of its own so that its memory is its own.
 */
describe('many peers: one producer, 64 workers on loopback addresses, found through SRV records', () => {
  let dns: TestDnsServer;
  const children: AppProcess[] = [];

  afterAll(async () => {
    await Promise.all(children.map((child) => child.kill()));
    await dns?.close();
  });

  /** What the worker processes have handled so far, from each one's latest `handled <total>` line. */
  const handledSoFar = (processes: AppProcess[]) =>
    processes.reduce(
      (sum, child) =>
        sum +
        Number(
          child
            .matching((line) => line.message.startsWith('handled '))
            .at(-1)
            ?.message.slice('handled '.length) ?? 0,
        ),
      0,
    );

  /**
   * One producer run. Its close waits until the workers have handled `handledAfter` in all: an
   * at-most-once close may drop what ZeroMQ still holds (docs/delivery.md), which is not what this
   * measures.
   */
  async function runProducer(
    peers: number,
    delivery: 'at-most-once' | 'at-least-once',
    workers: AppProcess[],
    handledAfter: number,
  ): Promise<RunResult> {
    const child = new AppProcess(`producer-${peers}-${delivery}`, process.execPath, [PRODUCER], {
      env: {
        PEER_DNS: dns.address,
        PEER_NAME: SRV_ENDPOINT,
        PEER_DELIVERY: delivery,
        PEER_EXPECTED: String(peers),
        PEER_MESSAGES: String(MESSAGES),
      },
    });
    children.push(child);
    const line = await child.waitFor((output) => output.message.startsWith('result '), 120_000, 'the result line');
    await eventually(
      () => handledSoFar(workers),
      (handled) => handled >= handledAfter,
      60_000,
      50,
    );
    child.signal('SIGUSR2');
    await within(child.exited, 15_000, `${child.name} to exit`);
    return JSON.parse(line.message.slice('result '.length)) as RunResult;
  }

  it('keeps every message and reports throughput and memory with 2 and 64 peers', async () => {
    dns = await TestDnsServer.start();
    const processes = Array.from({ length: PROCESSES }, (_, p) => {
      const ips = Array.from({ length: SERVERS_PER_PROCESS }, (_, s) => `127.0.1.${p * SERVERS_PER_PROCESS + s + 1}`);
      const child = new AppProcess(`servers-${p}`, process.execPath, [SERVERS], {
        env: { PEER_SERVER_IPS: ips.join(','), PEER_SERVER_KIND: 'dealer-router', PEER_SERVER_CONCURRENCY: '8' },
      });
      children.push(child);
      return child;
    });
    const peers = (
      await Promise.all(
        processes.map(async (child) => {
          let count = 0;
          await child.waitFor((line) => line.message.startsWith('ready ') && ++count === SERVERS_PER_PROCESS, 60_000, 'every server ready');
          return child
            .matching((line) => line.message.startsWith('ready '))
            .map((line) => {
              const [, ip, port] = line.message.split(' ');
              return { ip, port: Number(port) };
            });
        }),
      )
    ).flat();
    expect(peers).toHaveLength(PROCESSES * SERVERS_PER_PROCESS);

    const rows: Array<{ peers: number; delivery: string; result: RunResult }> = [];
    for (const count of [2, 64]) {
      publishPeers(dns, peers.slice(0, count));
      for (const delivery of ['at-most-once', 'at-least-once'] as const) {
        const handledAfter = MESSAGES * (rows.length + 1);
        rows.push({ peers: count, delivery, result: await runProducer(count, delivery, processes, handledAfter) });
      }
    }

    const stats = await Promise.all(
      processes.map(async (child) => {
        child.signal('SIGTERM');
        const line = await child.waitFor((output) => output.message.startsWith('stats '), 15_000, 'the stats line');
        await within(child.exited, 15_000, `${child.name} to exit`);
        return JSON.parse(line.message.slice('stats '.length)) as {
          servers: number;
          rssBefore: number;
          rss: number;
          handled: Record<string, number>;
        };
      }),
    );
    const handled = stats.reduce((sum, stat) => sum + Object.values(stat.handled).reduce((a, b) => a + b, 0), 0);
    const two = rows.find((row) => row.peers === 2 && row.delivery === 'at-most-once')!.result;
    const many = rows.find((row) => row.peers === 64 && row.delivery === 'at-most-once')!.result;
    console.log(
      [
        `one producer, ${MESSAGES} messages per run (window 2,000), workers: ${PROCESSES} processes × ${SERVERS_PER_PROCESS} bare ZeroMqServers (dealer-router, concurrency 8)`,
        `  ${'peers'.padStart(5)} ${'delivery'.padEnd(13)} ${'connect ms'.padStart(10)} ${'msg/s'.padStart(8)} ${'RSS before'.padStart(10)} ${'connected'.padStart(10)} ${'after run'.padStart(10)} ${'heap after'.padStart(10)}  (MiB)`,
        ...rows.map(
          ({ peers: count, delivery, result }) =>
            `  ${String(count).padStart(5)} ${delivery.padEnd(13)} ${result.connectMs.toFixed(0).padStart(10)} ${result.perSecond.toFixed(0).padStart(8)} ` +
            `${mib(result.before.rss).padStart(10)} ${mib(result.connected.rss).padStart(10)} ${mib(result.sent.rss).padStart(10)} ${mib(result.sent.heapUsed).padStart(10)}`,
        ),
        `  producer memory per extra peer (64 vs 2, once connected): ${kib((many.connected.rss - two.connected.rss) / 62)} KiB RSS, ${kib((many.connected.heapUsed - two.connected.heapUsed) / 62)} KiB heap`,
        `  worker processes: ${stats.map((stat) => `${mib(stat.rss)} MiB RSS (${mib(stat.rssBefore)} before its ${stat.servers} servers)`).join('; ')}`,
        `  worker memory per server (ZeroMqServer, one bound socket, its connections): ${kib(stats.reduce((sum, stat) => sum + (stat.rss - stat.rssBefore) / stat.servers, 0) / stats.length)} KiB RSS`,
      ].join('\n'),
    );
    for (const { peers: count, delivery, result } of rows) {
      expect({ count, delivery, connections: result.connections, failed: result.failed }).toEqual({
        count,
        delivery,
        connections: count,
        failed: 0,
      });
      if (delivery === 'at-least-once') {
        expect(result.acked).toBe(MESSAGES);
      }
    }
    expect(handled).toBe(MESSAGES * rows.length);
  }, 240_000);
});
