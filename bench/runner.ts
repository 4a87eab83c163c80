import { ChildHandle, OPEN_TIMEOUT_MS } from './child-handle.js';
import { describe, PhaseRunner, type PhaseResult } from './phase-runner.js';
import { burstSize, type BenchPlan, type ThroughputMode } from './plan.js';
import type { RowDefinition } from './rows.js';
import type { Services } from './services.js';

export type { PhaseResult } from './phase-runner.js';

const CLOSE_TIMEOUT_MS = 15_000;

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
  /** Broadcast rows: subscriber processes. */
  subscribers?: number;
  producerPeakRssBytes?: number;
  /** Broadcast rows: the highest of the subscribers'. */
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
    /** One, or one per subscriber of a broadcast row. */
    private readonly consumers: readonly ChildHandle[],
    private readonly producer: ChildHandle | undefined,
    private readonly options: RunOptions,
  ) {}

  get failed(): boolean {
    return this.result.status === 'failed';
  }

  get broadcast(): boolean {
    return this.row.broadcast !== undefined;
  }

  async open(service: string | undefined): Promise<void> {
    const endpoints: string[] = [];
    for (const consumer of this.consumers) {
      endpoints.push((await consumer.request({ type: 'open', endpoint: service }, 'opened', OPEN_TIMEOUT_MS)).endpoint!);
    }
    await this.producer?.request(
      { type: 'open', endpoint: endpoints[0], endpoints, subscribers: this.consumers.length },
      'opened',
      OPEN_TIMEOUT_MS,
    );
    this.phases = new PhaseRunner(this.consumers, this.producer ?? this.consumers[0], this.options.plan, this.broadcast);
    await this.phases.run('warmup', 100, this.options.plan.warmupCount);
  }

  async throughput(mode: ThroughputMode, payloadBytes: number, count: number): Promise<void> {
    const run = await this.phases!.run(
      'throughput',
      payloadBytes,
      count,
      mode === 'burst' ? { burst: burstSize(payloadBytes, count) } : {},
    );
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
        this.result[mode === 'windowed' ? 'throughput' : 'burst'].push({
          ...median,
          payloadBytes,
          runs: runs.map((run) => run.msgsPerSec),
        });
      }
    }
    this.result.producerPeakRssBytes = await this.producer?.close(CLOSE_TIMEOUT_MS);
    const peaks: number[] = [];
    for (const consumer of this.consumers) {
      const peak = await consumer.close(CLOSE_TIMEOUT_MS);
      if (peak !== undefined) {
        peaks.push(peak);
      }
    }
    this.result.consumerPeakRssBytes = peaks.length === 0 ? undefined : Math.max(...peaks);
    // An in-process row produces and consumes in one process.
    this.result.producerPeakRssBytes ??= this.result.consumerPeakRssBytes;
    return this.result;
  }

  fail(error: unknown): void {
    this.producer?.kill();
    for (const consumer of this.consumers) {
      consumer.kill();
    }
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
    const result: RowResult = {
      id: row.id,
      label: row.label,
      status: 'ok',
      throughput: [],
      burst: [],
      latency: [],
      subscribers: row.broadcast?.subscribers,
    };
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
      Array.from(
        { length: row.broadcast?.subscribers ?? 1 },
        () => new ChildHandle('consumer', row.id, options.execArgv(row, 'consumer'), options.verbose, row.env),
      ),
      hasProducer ? new ChildHandle('producer', row.id, options.execArgv(row, 'producer'), options.verbose, row.env) : undefined,
      options,
    );
    await attempt(session, () => session.open(service), options);
    sessions.push(session);
  }

  const each = async (broadcast: boolean | undefined, step: (session: RowSession) => Promise<void>) => {
    for (const session of sessions.filter(
      (candidate) => !candidate.failed && (broadcast === undefined || candidate.broadcast === broadcast),
    )) {
      await attempt(session, () => step(session), options);
    }
  };
  // Broadcast rows measure the windowed mode only, at their own counts, and no latency.
  for (let repeat = 0; repeat < options.plan.repeats; repeat++) {
    for (const { payloadBytes, count, burstCount, broadcastCount } of options.plan.throughputCounts) {
      for (const mode of sessions.some((session) => !session.broadcast) ? options.plan.throughputModes : []) {
        options.log(`throughput, ${mode}, ${payloadBytes} B, run ${repeat + 1} of ${options.plan.repeats}`);
        await each(false, (session) => session.throughput(mode, payloadBytes, mode === 'burst' ? burstCount : count));
      }
      if (sessions.some((session) => session.broadcast)) {
        options.log(`broadcast, ${payloadBytes} B, run ${repeat + 1} of ${options.plan.repeats}`);
        await each(true, (session) => session.throughput('windowed', payloadBytes, broadcastCount));
      }
    }
  }
  for (const { rate, seconds } of sessions.some((session) => !session.broadcast) ? options.plan.latencyRates : []) {
    options.log(`latency at ${rate} msg/s`);
    await each(false, (session) => session.latency(rate, seconds));
  }
  await each(undefined, async (session) => void (await session.close()));
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
