import { ChildHandle } from './child-handle.js';
import type { BenchPlan } from './plan.js';
import type { LatencySummary, PhaseSpec, ReceiveReport, SendReport } from './protocol.js';
import type { RowDefinition } from './rows.js';
import type { Services } from './services.js';

const OPEN_TIMEOUT_MS = 20_000;
const REPLY_TIMEOUT_MS = 5_000;
const CLOSE_TIMEOUT_MS = 15_000;

/** One phase as measured: the producer's and the consumer's view together. */
export interface PhaseResult {
  sent: number;
  failed: number;
  errors: Record<string, number>;
  received: number;
  /** Sent but never handled within the grace time. */
  lost: number;
  stray: number;
  /** Handled messages per second, from the first send to the last handler call. */
  msgsPerSec: number;
  seconds: number;
  latency?: LatencySummary;
}

export interface ThroughputResult extends PhaseResult {
  payloadBytes: number;
  /** msg/s of every run; the row's figure is their median. */
  runs: number[];
}

export interface LatencyResult extends PhaseResult {
  rate: number;
}

export type RowStatus = 'ok' | 'failed' | 'skipped' | 'not-implemented';

export interface RowResult {
  id: string;
  label: string;
  status: RowStatus;
  /** Why a row has no numbers, or where its broker came from. */
  note?: string;
  throughput: ThroughputResult[];
  latency: LatencyResult[];
  producerPeakRssBytes?: number;
  consumerPeakRssBytes?: number;
}

export interface RunOptions {
  plan: BenchPlan;
  services: Services;
  /** Extra node flags by role (for --cpu-prof). */
  execArgv: (row: RowDefinition, role: 'consumer' | 'producer') => string[];
  verbose: boolean;
  log: (line: string) => void;
}

/** Runs every phase of one row in a fresh consumer (and producer) process. */
export async function runRow(row: RowDefinition, options: RunOptions): Promise<RowResult> {
  const result: RowResult = { id: row.id, label: row.label, status: 'ok', throughput: [], latency: [] };
  if (row.driver === undefined) {
    return { ...result, status: 'not-implemented', note: row.notImplemented ?? 'not implemented yet' };
  }
  let service: string | undefined;
  if (row.service !== undefined) {
    const lease = await options.services.acquire(row.service);
    if ('skipped' in lease) {
      return { ...result, status: 'skipped', note: lease.skipped };
    }
    service = lease.url;
    result.note = lease.origin;
  }

  const hasProducer = (await row.driver()).startProducer !== undefined;
  const consumer = new ChildHandle('consumer', row.id, options.execArgv(row, 'consumer'), options.verbose);
  const producer = hasProducer ? new ChildHandle('producer', row.id, options.execArgv(row, 'producer'), options.verbose) : undefined;
  try {
    const { endpoint } = await consumer.request({ type: 'open', endpoint: service }, 'opened', OPEN_TIMEOUT_MS);
    await producer?.request({ type: 'open', endpoint }, 'opened', OPEN_TIMEOUT_MS);
    const phases = new PhaseRunner(consumer, producer ?? consumer, options.plan);

    await phases.run('warmup', 100, options.plan.warmupCount);
    for (const { payloadBytes, count } of options.plan.throughputCounts) {
      const runs: PhaseResult[] = [];
      for (let repeat = 0; repeat < options.plan.repeats; repeat++) {
        runs.push(await phases.run('throughput', payloadBytes, count));
      }
      const sorted = [...runs].sort((a, b) => a.msgsPerSec - b.msgsPerSec);
      const median = sorted[Math.floor(sorted.length / 2)];
      result.throughput.push({ ...median, payloadBytes, runs: runs.map((run) => run.msgsPerSec) });
      options.log(`  ${row.id}: ${payloadBytes} B ${describe(median)}`);
    }
    for (const { rate, seconds } of options.plan.latencyRates) {
      const measured = await phases.run('latency', options.plan.latencyPayloadBytes, Math.round(rate * seconds), rate);
      result.latency.push({ ...measured, rate });
      options.log(`  ${row.id}: ${rate} msg/s paced, ${describe(measured)}`);
    }
    result.producerPeakRssBytes = await producer?.close(CLOSE_TIMEOUT_MS);
    result.consumerPeakRssBytes = await consumer.close(CLOSE_TIMEOUT_MS);
    if (!hasProducer) {
      // The in-process row produces and consumes in one process.
      result.producerPeakRssBytes = result.consumerPeakRssBytes;
    }
  } catch (error) {
    producer?.kill();
    consumer.kill();
    return { ...result, status: 'failed', note: (error as Error).message };
  }
  return result;
}

function describe(phase: PhaseResult): string {
  const lost = phase.lost > 0 ? `, lost ${phase.lost}` : '';
  const failed = phase.failed > 0 ? `, ${phase.failed} failed sends ${JSON.stringify(phase.errors)}` : '';
  const latency = phase.latency === undefined ? '' : `, p50 ${phase.latency.p50} µs, p99 ${phase.latency.p99} µs, p999 ${phase.latency.p999} µs`;
  return `${Math.round(phase.msgsPerSec).toLocaleString('en-US')} msg/s${latency}${lost}${failed}`;
}

/** Numbers the phases and runs each one across the two processes. */
class PhaseRunner {
  private nextId = 1;

  constructor(
    private readonly consumer: ChildHandle,
    private readonly sender: ChildHandle,
    private readonly plan: BenchPlan,
  ) {}

  async run(kind: PhaseSpec['kind'], payloadBytes: number, count: number, rate?: number): Promise<PhaseResult> {
    const phase: PhaseSpec = { id: this.nextId++, kind, payloadBytes, count, rate, sendTimeoutMs: this.plan.sendTimeoutMs };
    await this.consumer.request({ type: 'arm', phase }, 'armed', REPLY_TIMEOUT_MS);
    // Registered before the run: a fast phase completes before 'sent' arrives.
    const received = this.consumer.next('received', this.plan.sendTimeoutMs + this.plan.graceMs + REPLY_TIMEOUT_MS, (reply) => reply.report.phaseId === phase.id);
    received.catch(() => undefined);
    const sent: SendReport = (await this.sender.request({ type: 'run', phase }, 'sent', this.plan.sendTimeoutMs + REPLY_TIMEOUT_MS)).report;
    // A consumer still short of the count after the grace time reports what it has: the phase lost messages.
    const collect = setTimeout(() => this.consumer.send({ type: 'collect', phaseId: phase.id }), this.plan.graceMs);
    try {
      return combine(sent, (await received).report);
    } finally {
      clearTimeout(collect);
    }
  }
}

function combine(sent: SendReport, received: ReceiveReport): PhaseResult {
  const seconds = Math.max(1e-6, (received.lastReceiveUs - sent.firstSendUs) / 1e6);
  return {
    sent: sent.sent,
    failed: sent.failed,
    errors: sent.errors,
    received: received.received,
    lost: Math.max(0, sent.sent - received.received),
    stray: received.stray,
    msgsPerSec: received.received / seconds,
    seconds,
    latency: received.latency,
  };
}
