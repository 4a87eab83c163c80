import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import getPort from 'get-port';
import { markdownTable } from 'markdown-table';
import { ChildHandle } from './child-handle.js';
import type { PhaseSpec, SendReport } from './protocol.js';

/** The row whose processes the soak drives. */
const SOAK_ROW = 'nestjs-zeromq';
/** ZeroMqClientOptions.maxQueueSize and sendTimeout, as documented (@default). */
const DOCUMENTED_MAX_QUEUE_SIZE = 10_000;
const DOCUMENTED_SEND_TIMEOUT_MS = 5_000;
/** Worker RSS may grow this much between the first checkpoint and any later one. */
const FLAT_RSS_TOLERANCE = 0.2;
/** Room the producer may take beyond its queue: code, buffers, heap slack. */
const PRODUCER_SLACK_BYTES = 64 * 1024 * 1024;
/** What one queued emit holds beyond its payload text (record, entry, promise). */
const PER_QUEUED_EMIT_OVERHEAD_BYTES = 1024;
const OPEN_TIMEOUT_MS = 20_000;
const REPLY_TIMEOUT_MS = 10_000;

export interface SoakOptions {
  quick: boolean;
  resultsDir: string;
  verbose: boolean;
  log: (line: string) => void;
}

interface SoakCheck {
  name: string;
  passed: boolean;
  detail: string;
  data: unknown;
}

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

let nextPhaseId = 1;

function floodPhase(count: number, payloadBytes: number): PhaseSpec {
  // Every emit at once (no window): what a producer does that ignores emit()'s promise.
  return { id: nextPhaseId++, kind: 'throughput', payloadBytes, count, window: count, sendTimeoutMs: 60_000 };
}

async function memory(child: ChildHandle) {
  return child.request({ type: 'memory' }, 'memory', REPLY_TIMEOUT_MS);
}

/** Worker RSS at every tenth of `total` messages (100 B, saturated): flat within 20% after the first tenth. */
async function workerRssFlat(total: number, options: SoakOptions): Promise<SoakCheck> {
  const consumer = new ChildHandle('consumer', SOAK_ROW, [], options.verbose);
  const producer = new ChildHandle('producer', SOAK_ROW, [], options.verbose);
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
      options.log(`  worker after ${handled.toLocaleString('en-US')} messages: RSS ${mib(usage.rssBytes)}, heap ${mib(usage.heapUsedBytes)}`);
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
 * A producer flooding emits while its worker is down (nothing listens) or frozen (SIGSTOP):
 * emits must fail with QUEUE_FULL / SEND_TIMEOUT and the producer's RSS stay within its queue's bound.
 */
async function producerBounded(worker: 'down' | 'frozen', count: number, payloadBytes: number, options: SoakOptions): Promise<SoakCheck> {
  const consumer = worker === 'frozen' ? new ChildHandle('consumer', SOAK_ROW, [], options.verbose) : undefined;
  const producer = new ChildHandle('producer', SOAK_ROW, [], options.verbose);
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
    let sent: SendReport;
    try {
      sent = (await producer.request({ type: 'run', phase: floodPhase(count, payloadBytes) }, 'sent', 120_000)).report;
    } finally {
      consumer?.pause(false);
    }
    const after = await memory(producer);
    const growth = after.peakRssBytes - idle.rssBytes;
    const bound = DOCUMENTED_MAX_QUEUE_SIZE * (payloadBytes + PER_QUEUED_EMIT_OVERHEAD_BYTES) + PRODUCER_SLACK_BYTES;
    const errors = Object.entries(sent.errors)
      .map(([code, times]) => `${code} ${times.toLocaleString('en-US')}`)
      .join(', ');
    return {
      name: `producer, worker ${worker}, ${count.toLocaleString('en-US')} emits of ${payloadBytes.toLocaleString('en-US')} B at once`,
      passed: sent.failed > 0 && growth <= bound,
      detail:
        `RSS idle ${mib(idle.rssBytes)}, peak ${mib(after.peakRssBytes)} (+${mib(growth)}; bound ${mib(bound)} = maxQueueSize × (payload + 1 KiB) + 64 MiB); ` +
        `sent ${sent.sent.toLocaleString('en-US')}, failed: ${errors || 'none'}`,
      data: { idle, after, sent },
    };
  } finally {
    await producer.close(REPLY_TIMEOUT_MS).catch(() => producer.kill());
    await consumer?.close(REPLY_TIMEOUT_MS).catch(() => consumer.kill());
  }
}

/** `npm run bench -- --soak`: long-run memory checks (manual; `--quick` for a short version). */
export async function runSoak(options: SoakOptions): Promise<number> {
  const total = options.quick ? 100_000 : 1_000_000;
  const flood = options.quick ? 20_000 : 100_000;
  options.log(`nestjs-zeromq soak${options.quick ? ' (quick)' : ''}: sendTimeout ${DOCUMENTED_SEND_TIMEOUT_MS} ms, maxQueueSize ${DOCUMENTED_MAX_QUEUE_SIZE} (defaults)`);
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
    await attempt(`producer, worker down, ${payloadBytes} B`, () => producerBounded('down', flood, payloadBytes, options));
  }
  await attempt('producer, worker frozen, 4096 B', () => producerBounded('frozen', flood, 4096, options));

  const table = markdownTable([['check', 'result', 'detail'], ...checks.map((check) => [check.name, check.passed ? 'pass' : 'FAIL', check.detail])]);
  options.log(`\n${table}\n`);
  mkdirSync(options.resultsDir, { recursive: true });
  const out = join(options.resultsDir, options.quick ? 'soak.json.tmp' : 'soak.json');
  writeFileSync(out, `${JSON.stringify({ date: new Date().toISOString(), quick: options.quick, checks }, null, 2)}\n`);
  options.log(`JSON: ${relative(process.cwd(), out)}`);
  return checks.every((check) => check.passed) ? 0 : 1;
}
