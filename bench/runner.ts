import { ChildHandle, OPEN_TIMEOUT_MS } from './child-handle.js';
import { describe, PhaseRunner, type PhaseResult } from './phase-runner.js';
import { settle } from './machine-load.js';
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
  /** Extra node flags by role (for --cpu-prof), given to the processes of the first repeat. */
  execArgv: (row: RowDefinition, role: 'consumer' | 'producer') => string[];
  verbose: boolean;
  log: (line: string) => void;
}

/** One set of a row's processes (a consumer or one per subscriber, and a producer), warmed up. */
class RowSession {
  readonly phases: PhaseRunner;

  private constructor(
    /** One, or one per subscriber of a broadcast row. */
    private readonly consumers: readonly ChildHandle[],
    private readonly producer: ChildHandle | undefined,
    plan: BenchPlan,
    broadcast: boolean,
  ) {
    this.phases = new PhaseRunner(consumers, producer ?? consumers[0], plan, broadcast);
  }

  /** Starts the row's processes, connects them and runs the warm-up phase. */
  static async open(entry: RowEntry, options: RunOptions, profiled: boolean): Promise<RowSession> {
    const { row } = entry;
    const child = (role: 'consumer' | 'producer') =>
      new ChildHandle(
        role,
        row.id,
        [...(options.plan.nodeFlags ?? []), ...(profiled ? options.execArgv(row, role) : [])],
        options.verbose,
        row.env,
      );
    const session = new RowSession(
      Array.from({ length: row.broadcast?.subscribers ?? 1 }, () => child('consumer')),
      entry.hasProducer ? child('producer') : undefined,
      options.plan,
      row.broadcast !== undefined,
    );
    try {
      const endpoints: string[] = [];
      for (const consumer of session.consumers) {
        endpoints.push((await consumer.request({ type: 'open', endpoint: entry.service }, 'opened', OPEN_TIMEOUT_MS)).endpoint!);
      }
      await session.producer?.request(
        { type: 'open', endpoint: endpoints[0], endpoints, subscribers: session.consumers.length },
        'opened',
        OPEN_TIMEOUT_MS,
      );
      await session.phases.run('warmup', 100, options.plan.warmupCount);
    } catch (error) {
      await session.kill();
      throw error;
    }
    return session;
  }

  /** Closes the processes and waits for them to exit; returns their peak RSS (producer, then the highest consumer's). */
  async close(): Promise<{ producer?: number; consumer?: number }> {
    const producer = await this.producer?.close(CLOSE_TIMEOUT_MS);
    const peaks: number[] = [];
    for (const consumer of this.consumers) {
      const peak = await consumer.close(CLOSE_TIMEOUT_MS);
      if (peak !== undefined) {
        peaks.push(peak);
      }
    }
    return { producer, consumer: peaks.length === 0 ? undefined : Math.max(...peaks) };
  }

  /** Ends the processes now (after a failure) and waits for them to exit. */
  async kill(): Promise<void> {
    await Promise.all([this.producer?.kill(), ...this.consumers.map((consumer) => consumer.kill())]);
  }
}

/** A row to measure, and what its sessions measured so far. */
class RowEntry {
  /** Runs by mode, then payload size, in the order of the repeats. */
  private readonly runs: Record<ThroughputMode, Map<number, PhaseResult[]>> = { windowed: new Map(), burst: new Map() };

  constructor(
    readonly row: RowDefinition,
    readonly result: RowResult,
    readonly hasProducer: boolean,
    /** The broker's URL for rows that need one. */
    readonly service: string | undefined,
  ) {}

  get failed(): boolean {
    return this.result.status === 'failed';
  }

  get broadcast(): boolean {
    return this.row.broadcast !== undefined;
  }

  /**
   * Opens a session of the row's processes, runs `phases` in it, closes it and waits until its
   * processes have exited and the machine has settled: only one row's processes run at a time.
   */
  async inSession(options: RunOptions, profiled: boolean, phases: (session: RowSession) => Promise<void>): Promise<void> {
    let session: RowSession | undefined;
    try {
      session = await RowSession.open(this, options, profiled);
      await phases(session);
      const peaks = await session.close();
      this.keepPeaks(peaks.producer, peaks.consumer);
    } catch (error) {
      await session?.kill();
      this.result.status = 'failed';
      this.result.note = (error as Error).message;
      options.log(`  ${this.row.id} failed: ${(error as Error).message.split('\n')[0]}`);
    }
    const { quiet, busyCores } = await settle();
    if (!quiet) {
      options.log(`  (machine still busy after ${this.row.id} closed: ${busyCores.toFixed(2)} cores, other processes)`);
    }
  }

  async throughput(session: RowSession, mode: ThroughputMode, payloadBytes: number, count: number, log: RunOptions['log']): Promise<void> {
    const run = await session.phases.run(
      'throughput',
      payloadBytes,
      count,
      mode === 'burst' ? { burst: burstSize(payloadBytes, count) } : {},
    );
    const runs = this.runs[mode];
    runs.set(payloadBytes, [...(runs.get(payloadBytes) ?? []), run]);
    log(`  ${this.row.id}: ${mode}, ${payloadBytes} B ${describe(run)}`);
  }

  /** A paced phase, after a paced warm-up at the same rate (not measured). */
  async latency(session: RowSession, rate: number, seconds: number, plan: BenchPlan, log: RunOptions['log']): Promise<void> {
    const warmup = Math.max(1, Math.round(rate * plan.latencyWarmupSeconds));
    await session.phases.run('warmup', plan.latencyPayloadBytes, warmup, { rate });
    const measured = await session.phases.run('latency', plan.latencyPayloadBytes, Math.round(rate * seconds), { rate });
    this.result.latency.push({ ...measured, rate });
    log(`  ${this.row.id}: ${rate} msg/s paced, ${describe(measured)}`);
  }

  /** Reports each payload size's median run. */
  finish(): RowResult {
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
    // An in-process row produces and consumes in one process.
    this.result.producerPeakRssBytes ??= this.result.consumerPeakRssBytes;
    return this.result;
  }

  private keepPeaks(producer: number | undefined, consumer: number | undefined): void {
    const higher = (a: number | undefined, b: number | undefined) => (a === undefined ? b : b === undefined ? a : Math.max(a, b));
    this.result.producerPeakRssBytes = higher(this.result.producerPeakRssBytes, producer);
    this.result.consumerPeakRssBytes = higher(this.result.consumerPeakRssBytes, consumer);
  }
}

/** The rows starting at a different place in each repeat, so that no row always comes first or last. */
function rotated<T>(entries: readonly T[], repeat: number, repeats: number): T[] {
  const offset = Math.floor((repeat * entries.length) / repeats);
  return [...entries.slice(offset), ...entries.slice(0, offset)];
}

/**
 * Runs all rows, one row's processes at a time, so that nothing of another row (its processes,
 * their timers and garbage collection) runs during a row's phases. Each repeat opens every row in
 * turn, in a rotated order, and measures every payload size and mode in its session; the paced
 * latency phases run last, in sessions of their own (fresh processes, a paced warm-up before each
 * rate). After each session the runner waits for the processes to exit and the machine to settle.
 * Ratios between rows compare rounds measured minutes apart at most: load changes during the run
 * hit every row in some repeat, and the median of the repeats is reported.
 */
export async function runRows(rows: readonly RowDefinition[], options: RunOptions): Promise<RowResult[]> {
  const results: RowResult[] = [];
  const entries: RowEntry[] = [];
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
    if (row.driver === undefined) {
      Object.assign(result, { status: 'not-implemented', note: row.notImplemented ?? 'not implemented yet' });
      options.log(`${row.label}: ${result.note}`);
      continue;
    }
    let service: string | undefined;
    if (row.service !== undefined) {
      const lease = await options.services.acquire(row.service);
      if ('skipped' in lease) {
        Object.assign(result, { status: 'skipped', note: lease.skipped });
        options.log(`${row.label}: ${result.note}`);
        continue;
      }
      service = lease.url;
      result.note = lease.origin;
    }
    entries.push(new RowEntry(row, result, (await row.driver()).startProducer !== undefined, service));
  }

  const { plan, log } = options;
  for (let repeat = 0; plan.throughputCounts.length > 0 && repeat < plan.repeats; repeat++) {
    log(`throughput, run ${repeat + 1} of ${plan.repeats}`);
    for (const entry of rotated(entries, repeat, plan.repeats).filter((candidate) => !candidate.failed)) {
      log(entry.row.label);
      // Profiled in the first repeat only: the profiler's cost stays out of the other rounds.
      await entry.inSession(options, repeat === 0, async (session) => {
        for (const { payloadBytes, count, burstCount, broadcastCount } of plan.throughputCounts) {
          // Broadcast rows measure the windowed mode only, at their own counts, and no latency.
          for (const mode of entry.broadcast ? (['windowed'] as const) : plan.throughputModes) {
            const sends = entry.broadcast ? broadcastCount : mode === 'burst' ? burstCount : count;
            await entry.throughput(session, mode, payloadBytes, sends, log);
          }
        }
      });
    }
  }
  if (plan.latencyRates.length > 0) {
    log('latency (paced)');
    for (const entry of entries.filter((candidate) => !candidate.failed && !candidate.broadcast)) {
      await entry.inSession(options, false, async (session) => {
        for (const { rate, seconds } of plan.latencyRates) {
          await entry.latency(session, rate, seconds, plan, log);
        }
      });
    }
  }
  for (const entry of entries) {
    entry.finish();
  }
  return results;
}
