/**
 * `npm run bench:burst [-- --messages 200000 --rounds 3]`: what the bench's burst mode costs a
 * producer with no transport at all. The bench's own send loop (send-loop.ts) drives a sender
 * that only serializes each message and settles it on the next turn of the event loop, through a
 * hot observable and `lastValueFrom`, as the Nest rows' producers await `emit()`. Each shape runs
 * in a fresh process, with Node's defaults and with a larger young generation, interleaved; the
 * table gives the median emits/s and the share of the time spent in V8's garbage collector.
 *
 * Why: 10,000 emits fired before any is awaited keep 10,000 promises, subscribers and messages
 * alive at once, more than V8's default young generation holds, so each scavenge copies them and
 * promotes them (docs/performance.md, "Bursts and the young generation").
 */
import { PerformanceObserver } from 'node:perf_hooks';
import { Command } from 'commander';
import { markdownTable } from 'markdown-table';
import { lastValueFrom, Observable, type Subscriber } from 'rxjs';
import { FULL_PLAN, BURST_MAX_SENDS } from './plan.js';
import { runSendPhase, type Sender } from './send-loop.js';
import type { BenchMessage } from './message.js';
import { childOrMain, measureInChild } from './forked-measure.js';
import { median } from './median.js';

/** A send loop's shape: the bench's burst (10,000), a smaller burst, and the windowed mode. */
const SHAPES = [
  { name: `burst of ${BURST_MAX_SENDS.toLocaleString('en')}`, burst: BURST_MAX_SENDS, window: 1_000 },
  { name: 'burst of 1,000', burst: 1_000, window: 1_000 },
  { name: 'windowed, 1,000 outstanding', burst: undefined, window: 1_000 },
] as const;

const NODE_FLAGS = [[], ['--max-semi-space-size=32']] as const;

/** Emits that settle together on the next turn, each one a hot observable (as ZeroMqClient's are). */
class NextTurnSender implements Sender {
  private waiting: Array<{ frame: Buffer; subscribers: Array<Subscriber<undefined>> }> = [];

  send(message: BenchMessage): Promise<unknown> {
    return lastValueFrom(this.emit(message), { defaultValue: undefined });
  }

  private emit(message: BenchMessage): Observable<undefined> {
    const entry = { frame: Buffer.from(JSON.stringify(message)), subscribers: [] as Array<Subscriber<undefined>> };
    this.waiting.push(entry);
    if (this.waiting.length === 1) {
      setImmediate(() => this.settleAll());
    }
    return new Observable<undefined>((subscriber) => void entry.subscribers.push(subscriber));
  }

  private settleAll(): void {
    const settled = this.waiting;
    this.waiting = [];
    for (const { subscribers } of settled) {
      for (const subscriber of subscribers) {
        subscriber.next(undefined);
        subscriber.complete();
      }
    }
  }
}

interface ShapeResult {
  rate: number;
  gcShare: number;
}

/** In the child: one shape, after a warm-up of the same shape. */
async function measure(shapeIndex: number, messages: number): Promise<ShapeResult> {
  const shape = SHAPES[shapeIndex];
  const sender = new NextTurnSender();
  const phase = (id: number, count: number) => ({
    id,
    kind: 'throughput' as const,
    payloadBytes: FULL_PLAN.throughputCounts[0].payloadBytes,
    count,
    burst: shape.burst,
    sendTimeoutMs: FULL_PLAN.sendTimeoutMs,
  });
  await runSendPhase(sender, phase(0, FULL_PLAN.warmupCount), shape.window);
  let gcMs = 0;
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      gcMs += entry.duration;
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  const started = performance.now();
  const report = await runSendPhase(sender, phase(1, messages), shape.window);
  const ms = performance.now() - started;
  observer.disconnect();
  if (report.sent !== messages) {
    throw new Error(`sent ${report.sent} of ${messages}`);
  }
  return { rate: (messages / ms) * 1000, gcShare: gcMs / ms };
}

function runChild(shapeIndex: number, flags: readonly string[], messages: number): Promise<ShapeResult> {
  return measureInChild<ShapeResult>(import.meta.url, [String(shapeIndex), String(messages)], flags);
}

async function main(): Promise<void> {
  const { messages, rounds } = new Command('bench:burst')
    .option('--messages <count>', 'messages per run', (value) => Number(value), FULL_PLAN.throughputCounts[0].count)
    .option('--rounds <count>', 'runs per shape and flags', (value) => Number(value), 3)
    .parse()
    .opts<{ messages: number; rounds: number }>();
  const measured = SHAPES.flatMap((shape, shapeIndex) =>
    NODE_FLAGS.map((flags) => ({
      shape: shape.name,
      shapeIndex,
      flags,
      label: flags.join(' ') || "Node's defaults",
      runs: [] as ShapeResult[],
    })),
  );
  for (let round = 1; round <= rounds; round++) {
    for (const configuration of measured) {
      const result = await runChild(configuration.shapeIndex, configuration.flags, messages);
      configuration.runs.push(result);
      console.log(
        `round ${round}: ${configuration.shape}, ${configuration.label}: ${Math.round(result.rate).toLocaleString('en')} emits/s, GC ${(result.gcShare * 100).toFixed(0)}%`,
      );
    }
  }
  const rows = measured.map(({ shape, label, runs }) => [
    shape,
    label,
    Math.round(median(runs.map((run) => run.rate))).toLocaleString('en'),
    `${(median(runs.map((run) => run.gcShare)) * 100).toFixed(0)}%`,
    runs.map((run) => `${Math.round(run.rate / 1000)}k`).join(', '),
  ]);
  console.log(
    `\nThe bench's send loop with no transport (${messages.toLocaleString('en')} × ~100 B per run, median of ${rounds}):\n\n` +
      markdownTable([['Shape', 'Node flags', 'emits/s', 'GC share of the run', 'runs'], ...rows], { align: ['l', 'l', 'r', 'r', 'l'] }),
  );
}

childOrMain(([shapeIndex, messages]) => measure(Number(shapeIndex), Number(messages)), main);
