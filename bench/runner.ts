import { ChildHandle, OPEN_TIMEOUT_MS } from './child-handle.js';
import { burstSize, type BenchPlan, type ThroughputMode } from './plan.js';
import type { LatencySummary, PhaseSpec, ReceiveReport, SendReport } from './protocol.js';
import type { RowDefinition } from './rows.js';
import type { Services } from './services.js';

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
  /** Producer side: from the call until its promise settled (paced phases). */
  completion?: LatencySummary;
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
  /** Windowed mode: at most the row's window of sends outstanding. */
  throughput: ThroughputResult[];
  /** Burst mode: bursts of sends fired without awaiting, each burst awaited. */
  burst: ThroughputResult[];
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

/** One row's processes, open for the whole run so that its phases can interleave with other rows'. */
class RowSession {
  private phases: PhaseRunner | undefined;
  /** Runs by mode, then payload size. */
  private readonly runs: Record<ThroughputMode, Map<number, PhaseResult[]>> = { windowed: new Map(), burst: new Map() };

  constructor(
    readonly row: RowDefinition,
    readonly result: RowResult,
    private readonly consumer: ChildHandle,
    private readonly producer: ChildHandle | undefined,
    private readonly options: RunOptions,
  ) {}

  get failed(): boolean {
    return this.result.status === 'failed';
  }

  async open(service: string | undefined): Promise<void> {
    const { endpoint } = await this.consumer.request({ type: 'open', endpoint: service }, 'opened', OPEN_TIMEOUT_MS);
    await this.producer?.request({ type: 'open', endpoint }, 'opened', OPEN_TIMEOUT_MS);
    this.phases = new PhaseRunner(this.consumer, this.producer ?? this.consumer, this.options.plan);
    await this.phases.run('warmup', 100, this.options.plan.warmupCount);
  }

  async throughput(mode: ThroughputMode, payloadBytes: number, count: number): Promise<void> {
    const run = await this.phases!.run('throughput', payloadBytes, count, mode === 'burst' ? { burst: burstSize(payloadBytes, count) } : {});
    const runs = this.runs[mode];
    runs.set(payloadBytes, [...(runs.get(payloadBytes) ?? []), run]);
    this.options.log(`  ${this.row.id}: ${payloadBytes} B ${describe(run)}`);
  }

  async latency(rate: number, seconds: number): Promise<void> {
    const measured = await this.phases!.run('latency', this.options.plan.latencyPayloadBytes, Math.round(rate * seconds), { rate });
    this.result.latency.push({ ...measured, rate });
    this.options.log(`  ${this.row.id}: ${rate} msg/s paced, ${describe(measured)}`);
  }

  /** Closes the processes, reads their peak RSS and reports each payload size's median run. */
  async close(): Promise<RowResult> {
    for (const mode of ['windowed', 'burst'] as const) {
      for (const [payloadBytes, runs] of this.runs[mode]) {
        const median = [...runs].sort((a, b) => a.msgsPerSec - b.msgsPerSec)[Math.floor(runs.length / 2)];
        this.result[mode === 'windowed' ? 'throughput' : 'burst'].push({ ...median, payloadBytes, runs: runs.map((run) => run.msgsPerSec) });
      }
    }
    this.result.producerPeakRssBytes = await this.producer?.close(CLOSE_TIMEOUT_MS);
    this.result.consumerPeakRssBytes = await this.consumer.close(CLOSE_TIMEOUT_MS);
    // An in-process row produces and consumes in one process.
    this.result.producerPeakRssBytes ??= this.result.consumerPeakRssBytes;
    return this.result;
  }

  fail(error: unknown): void {
    this.producer?.kill();
    this.consumer.kill();
    this.result.status = 'failed';
    this.result.note = (error as Error).message;
  }
}

/**
 * Runs all rows, each in its own consumer (and producer) process, interleaved: every repetition
 * of a measurement runs once for every row before the next starts, so a change in the machine's
 * load during the run hits all rows alike and the ratios between them stay fair.
 */
export async function runRows(rows: readonly RowDefinition[], options: RunOptions): Promise<RowResult[]> {
  const results: RowResult[] = [];
  const sessions: RowSession[] = [];
  for (const row of rows) {
    const result: RowResult = { id: row.id, label: row.label, status: 'ok', throughput: [], burst: [], latency: [] };
    results.push(result);
    options.log(row.label);
    if (row.driver === undefined) {
      Object.assign(result, { status: 'not-implemented', note: row.notImplemented ?? 'not implemented yet' });
      options.log(`  ${result.note}`);
      continue;
    }
    let service: string | undefined;
    if (row.service !== undefined) {
      const lease = await options.services.acquire(row.service);
      if ('skipped' in lease) {
        Object.assign(result, { status: 'skipped', note: lease.skipped });
        options.log(`  ${result.note}`);
        continue;
      }
      service = lease.url;
      result.note = lease.origin;
    }
    const hasProducer = (await row.driver()).startProducer !== undefined;
    const session = new RowSession(
      row,
      result,
      new ChildHandle('consumer', row.id, options.execArgv(row, 'consumer'), options.verbose),
      hasProducer ? new ChildHandle('producer', row.id, options.execArgv(row, 'producer'), options.verbose) : undefined,
      options,
    );
    await attempt(session, () => session.open(service), options);
    sessions.push(session);
  }

  const each = async (step: (session: RowSession) => Promise<void>) => {
    for (const session of sessions.filter((candidate) => !candidate.failed)) {
      await attempt(session, () => step(session), options);
    }
  };
  for (let repeat = 0; repeat < options.plan.repeats; repeat++) {
    for (const { payloadBytes, count } of options.plan.throughputCounts) {
      for (const mode of options.plan.throughputModes) {
        options.log(`throughput, ${mode}, ${payloadBytes} B, run ${repeat + 1} of ${options.plan.repeats}`);
        await each((session) => session.throughput(mode, payloadBytes, count));
      }
    }
  }
  for (const { rate, seconds } of options.plan.latencyRates) {
    options.log(`latency at ${rate} msg/s`);
    await each((session) => session.latency(rate, seconds));
  }
  await each(async (session) => void (await session.close()));
  return results;
}

async function attempt(session: RowSession, step: () => Promise<void>, options: RunOptions): Promise<void> {
  try {
    await step();
  } catch (error) {
    session.fail(error);
    options.log(`  ${session.row.id} failed: ${(error as Error).message.split('\n')[0]}`);
  }
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

  async run(kind: PhaseSpec['kind'], payloadBytes: number, count: number, pace: Pick<PhaseSpec, 'rate' | 'burst'> = {}): Promise<PhaseResult> {
    const phase: PhaseSpec = { id: this.nextId++, kind, payloadBytes, count, ...pace, sendTimeoutMs: this.plan.sendTimeoutMs };
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
    completion: sent.completion,
  };
}
