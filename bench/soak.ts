import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import getPort from 'get-port';
import { markdownTable } from 'markdown-table';
import { ChildHandle, OPEN_TIMEOUT_MS } from './child-handle.js';
import { replaceDocSection } from './docs-section.js';
import type { PhaseSpec } from './protocol.js';

/** The row whose processes the soak drives. */
const SOAK_ROW = 'nestjs-zeromq';
/** ZeroMqClientOptions.maxQueueSize and sendTimeout, as documented (@default). */
const DOCUMENTED_MAX_QUEUE_SIZE = 100_000;
const DOCUMENTED_MAX_QUEUE_BYTES = 64 * 1024 * 1024;
/** Emits per wave: past the byte bound for payloads of 4 KiB and more; smaller ones fail by sendTimeout. */
const WAVE_SIZE = 20_000;
const DOCUMENTED_SEND_TIMEOUT_MS = 5_000;
/** RSS may grow this much between the first checkpoint (or wave) and any later one. */
const FLAT_RSS_TOLERANCE = 0.2;
const REPLY_TIMEOUT_MS = 10_000;

export interface SoakOptions {
  quick: boolean;
  resultsDir: string;
  /** Page whose `soak:results` section gets the table (full soaks only). */
  doc?: string;
  verbose: boolean;
  log: (line: string) => void;
}

interface SoakCheck {
  name: string;
  passed: boolean;
  detail: string;
  data: unknown;
}

function machineSummary(): string {
  return `${cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${cpus().length} cores, node ${process.versions.node}, load average at the end ${loadavg()
    .map((value) => value.toFixed(2))
    .join(' ')}`;
}

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

let nextPhaseId = 1;

function floodPhase(count: number, payloadBytes: number): PhaseSpec {
  // Every emit at once (no window): what a producer does that ignores emit()'s promise.
  return { id: nextPhaseId++, kind: 'throughput', payloadBytes, count, window: count, sendTimeoutMs: 60_000 };
}

/** Soak children run with --expose-gc so that live heap can be told from garbage not yet collected. */
const SOAK_EXEC_ARGV = ['--expose-gc'];

async function memory(child: ChildHandle, collect = false) {
  return child.request({ type: 'memory', collect }, 'memory', REPLY_TIMEOUT_MS);
}

/** Worker RSS at every tenth of `total` messages (100 B, saturated): flat within 20% after the first tenth. */
async function workerRssFlat(total: number, options: SoakOptions): Promise<SoakCheck> {
  const consumer = new ChildHandle('consumer', SOAK_ROW, SOAK_EXEC_ARGV, options.verbose);
  const producer = new ChildHandle('producer', SOAK_ROW, SOAK_EXEC_ARGV, options.verbose);
  try {
    const { endpoint } = await consumer.request({ type: 'open' }, 'opened', OPEN_TIMEOUT_MS);
    await producer.request({ type: 'open', endpoint }, 'opened', OPEN_TIMEOUT_MS);
    const chunk = Math.round(total / 10);
    const checkpoints: Array<{ handled: number; rssBytes: number; heapUsedBytes: number }> = [];
    let handled = 0;
    for (let index = 0; index < 10; index++) {
      const phase: PhaseSpec = { id: nextPhaseId++, kind: 'throughput', payloadBytes: 100, count: chunk, sendTimeoutMs: 120_000 };
      await consumer.request({ type: 'arm', phase }, 'armed', REPLY_TIMEOUT_MS);
      const received = consumer.next('received', 180_000, (reply) => reply.report.phaseId === phase.id);
      await producer.request({ type: 'run', phase }, 'sent', 180_000);
      handled += (await received).report.received;
      const usage = await memory(consumer);
      checkpoints.push({ handled, rssBytes: usage.rssBytes, heapUsedBytes: usage.heapUsedBytes });
      options.log(
        `  worker after ${handled.toLocaleString('en-US')} messages: RSS ${mib(usage.rssBytes)}, heap ${mib(usage.heapUsedBytes)}`,
      );
    }
    const first = checkpoints[0].rssBytes;
    const max = Math.max(...checkpoints.map((point) => point.rssBytes));
    const growth = max / first - 1;
    return {
      name: `worker RSS over ${total.toLocaleString('en-US')} messages`,
      passed: handled === total && growth <= FLAT_RSS_TOLERANCE,
      detail:
        `after the first ${chunk.toLocaleString('en-US')}: ${mib(first)}; highest later: ${mib(max)} (+${(growth * 100).toFixed(1)}%, limit ${FLAT_RSS_TOLERANCE * 100}%); ` +
        `last: ${mib(checkpoints.at(-1)!.rssBytes)}; handled ${handled.toLocaleString('en-US')}`,
      data: checkpoints,
    };
  } finally {
    await producer.close(REPLY_TIMEOUT_MS).catch(() => producer.kill());
    await consumer.close(REPLY_TIMEOUT_MS).catch(() => consumer.kill());
  }
}

/**
 * A producer flooding emits while its worker is down (nothing listens) or frozen (SIGSTOP), in
 * waves of `waveSize` emits at once: emits must fail (QUEUE_FULL / SEND_TIMEOUT) and the
 * producer's RSS and live heap must not grow from wave to wave (within 20% of their size after the first wave).
 */
async function producerBounded(
  worker: 'down' | 'frozen',
  waves: number,
  waveSize: number,
  payloadBytes: number,
  options: SoakOptions,
): Promise<SoakCheck> {
  const consumer = worker === 'frozen' ? new ChildHandle('consumer', SOAK_ROW, SOAK_EXEC_ARGV, options.verbose) : undefined;
  const producer = new ChildHandle('producer', SOAK_ROW, SOAK_EXEC_ARGV, options.verbose);
  try {
    const endpoint =
      consumer === undefined
        ? `tcp://127.0.0.1:${await getPort({ host: '127.0.0.1' })}`
        : (await consumer.request({ type: 'open' }, 'opened', OPEN_TIMEOUT_MS)).endpoint!;
    await producer.request({ type: 'open', endpoint }, 'opened', OPEN_TIMEOUT_MS);
    if (consumer !== undefined) {
      // Let the connection complete first, so that the producer has a peer that then stops reading.
      await sleep(500);
      consumer.pause(true);
    }
    const idle = await memory(producer);
    const totals = { sent: 0, failed: 0, errors: {} as Record<string, number> };
    const rssAfterWave: number[] = [];
    const heapAfterWave: number[] = [];
    try {
      for (let wave = 0; wave < waves; wave++) {
        const report = (await producer.request({ type: 'run', phase: floodPhase(waveSize, payloadBytes) }, 'sent', 120_000)).report;
        totals.sent += report.sent;
        totals.failed += report.failed;
        for (const [code, times] of Object.entries(report.errors)) {
          totals.errors[code] = (totals.errors[code] ?? 0) + times;
        }
        rssAfterWave.push((await memory(producer)).rssBytes);
        heapAfterWave.push((await memory(producer, true)).heapUsedBytes);
      }
    } finally {
      consumer?.pause(false);
    }
    const after = await memory(producer);
    const growth = Math.max(...rssAfterWave.slice(1)) / rssAfterWave[0] - 1;
    const heapGrowth = Math.max(...heapAfterWave.slice(1)) / heapAfterWave[0] - 1;
    const queueBound = Math.min(DOCUMENTED_MAX_QUEUE_SIZE * payloadBytes, DOCUMENTED_MAX_QUEUE_BYTES);
    const errors = Object.entries(totals.errors)
      .map(([code, times]) => `${code} ${times.toLocaleString('en-US')}`)
      .join(', ');
    return {
      name: `producer, worker ${worker}: ${waves} waves of ${waveSize.toLocaleString('en-US')} emits of ${payloadBytes.toLocaleString('en-US')} B`,
      passed: totals.failed > 0 && growth <= FLAT_RSS_TOLERANCE && heapGrowth <= FLAT_RSS_TOLERANCE,
      detail:
        `RSS idle ${mib(idle.rssBytes)}, after wave 1 ${mib(rssAfterWave[0])}, highest after a later wave ${mib(Math.max(...rssAfterWave.slice(1)))} ` +
        `(${growth >= 0 ? '+' : ''}${(growth * 100).toFixed(1)}%, limit ${FLAT_RSS_TOLERANCE * 100}%), peak ${mib(after.peakRssBytes)} ` +
        `; live heap after a full GC: ${heapAfterWave.map(mib).join(', ')} ` +
        `(queued payloads alone: at most ${mib(queueBound)}); sent ${totals.sent.toLocaleString('en-US')}, failed: ${errors || 'none'}`,
      data: { idle, after, rssAfterWave, heapAfterWave, totals },
    };
  } finally {
    await producer.close(REPLY_TIMEOUT_MS).catch(() => producer.kill());
    await consumer?.close(REPLY_TIMEOUT_MS).catch(() => consumer.kill());
  }
}

/** `npm run bench -- --soak`: long-run memory checks (manual; `--quick` for a short version). */
export async function runSoak(options: SoakOptions): Promise<number> {
  const total = options.quick ? 100_000 : 1_000_000;
  const waves = options.quick ? 3 : 8;
  const waveSize = WAVE_SIZE;
  options.log(
    `nestjs-zeromq soak${options.quick ? ' (quick)' : ''}: sendTimeout ${DOCUMENTED_SEND_TIMEOUT_MS} ms, maxQueueSize ${DOCUMENTED_MAX_QUEUE_SIZE} (defaults)`,
  );
  const checks: SoakCheck[] = [];
  const attempt = async (name: string, run: () => Promise<SoakCheck>) => {
    options.log(name);
    try {
      checks.push(await run());
    } catch (error) {
      checks.push({ name, passed: false, detail: `failed: ${(error as Error).message.split('\n')[0]}`, data: null });
    }
    options.log(`  ${checks.at(-1)!.passed ? 'PASS' : 'FAIL'}: ${checks.at(-1)!.detail}`);
  };
  await attempt('worker RSS flatness', () => workerRssFlat(total, options));
  for (const payloadBytes of [100, 4096, 65_536]) {
    await attempt(`producer, worker down, ${payloadBytes} B`, () => producerBounded('down', waves, waveSize, payloadBytes, options));
  }
  await attempt('producer, worker frozen, 4096 B', () => producerBounded('frozen', waves, waveSize, 4096, options));

  const table = markdownTable([
    ['check', 'result', 'detail'],
    ...checks.map((check) => [check.name, check.passed ? 'pass' : 'FAIL', check.detail]),
  ]);
  options.log(`\n${table}\n`);
  mkdirSync(options.resultsDir, { recursive: true });
  const out = join(options.resultsDir, options.quick ? 'soak.json.tmp' : 'soak.json');
  writeFileSync(out, `${JSON.stringify({ date: new Date().toISOString(), quick: options.quick, checks }, null, 2)}\n`);
  options.log(`JSON: ${relative(process.cwd(), out)}`);
  if (options.doc !== undefined) {
    replaceDocSection(
      options.doc,
      'soak:results',
      `Soak of ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC (${machineSummary()}):\n\n${table}`,
    );
    options.log(`Updated ${relative(process.cwd(), options.doc)}`);
  }
  return checks.every((check) => check.passed) ? 0 : 1;
}
