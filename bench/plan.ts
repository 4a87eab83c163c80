/**
 * How a saturated producer sends: `windowed` keeps at most the row's window of sends outstanding
 * (1000 for the Nest rows, each awaited); `burst` fires a burst of sends in a plain loop without
 * awaiting any, then awaits them all, and repeats (see `burstSize`).
 */
export type ThroughputMode = 'windowed' | 'burst';

/** Sends in one burst at most: well within ZeroMqClient's default `maxQueueSize` (100,000), so that no emit fails for a full queue. */
export const BURST_MAX_SENDS = 10_000;
/**
 * Payload bytes in one burst at most: a quarter of ZeroMqClient's default `maxQueueBytes` and an
 * eighth of the 128 MiB at which Nest TCP's client drops its connection.
 */
export const BURST_MAX_BYTES = 16 * 1024 * 1024;

/** Sends per burst for a payload size: as many as the bounds above allow, and at most the phase's count. */
export function burstSize(payloadBytes: number, count: number): number {
  return Math.max(1, Math.min(count, BURST_MAX_SENDS, Math.floor(BURST_MAX_BYTES / payloadBytes)));
}

/** How much traffic each mode sends. Quick checks that every row runs; full is the one to publish. */
export interface BenchPlan {
  mode: 'quick' | 'full';
  /** Set when the counts and times were scaled (`--scale`): the run is not one to publish. */
  scale?: number;
  /** Set when the run measures part of the plan or changes it (`--only`, `--latency-warmup`): what, for the report; not one to publish. */
  partial?: string;
  /**
   * Node.js flags given to every process of every row (`--node-flags`), such as a V8 heap or
   * thread-pool size: all rows alike, so the ratios stay those of one run. Not a run to publish.
   */
  nodeFlags?: readonly string[];
  /** Messages sent before measuring, to warm up the JIT and the connections. */
  warmupCount: number;
  /**
   * Saturated throughput: messages per run by payload size in bytes: `count` in the windowed mode,
   * `burstCount` in the burst mode; broadcast rows send `broadcastCount` (windowed only).
   */
  throughputCounts: ReadonlyArray<{ payloadBytes: number; count: number; burstCount: number; broadcastCount: number }>;
  throughputModes: readonly ThroughputMode[];
  /** Runs per payload size; the median is reported. */
  repeats: number;
  /** Paced latency phases, all with `latencyPayloadBytes` messages. */
  latencyRates: ReadonlyArray<{ rate: number; seconds: number }>;
  latencyPayloadBytes: number;
  /** Paced warm-up before each paced phase, at its rate, not measured: seconds. */
  latencyWarmupSeconds: number;
  /** How long the consumer may take to catch up after the producer is done, ms. */
  graceMs: number;
  /** Upper bound of one phase's sending, ms. */
  sendTimeoutMs: number;
}

export const QUICK_PLAN: BenchPlan = {
  mode: 'quick',
  // Enough at ~100 B for CI's guard to measure a steady rate rather than start-up: with 10,000 the
  // guarded ratio moved between 0.89× and 1.50× from run to run.
  warmupCount: 10_000,
  throughputCounts: [
    { payloadBytes: 100, count: 50_000, burstCount: 10_000, broadcastCount: 5_000 },
    { payloadBytes: 4096, count: 2_000, burstCount: 2_000, broadcastCount: 1_000 },
    { payloadBytes: 65_536, count: 200, burstCount: 200, broadcastCount: 100 },
  ],
  throughputModes: ['windowed', 'burst'],
  repeats: 1,
  latencyRates: [
    { rate: 1_000, seconds: 1 },
    { rate: 10_000, seconds: 0.5 },
  ],
  latencyPayloadBytes: 100,
  latencyWarmupSeconds: 0.5,
  graceMs: 5_000,
  sendTimeoutMs: 20_000,
};

export const FULL_PLAN: BenchPlan = {
  mode: 'full',
  warmupCount: 20_000,
  throughputCounts: [
    // Burst and broadcast phases send fewer messages, to keep a full run under 20 minutes.
    { payloadBytes: 100, count: 200_000, burstCount: 100_000, broadcastCount: 50_000 },
    { payloadBytes: 4096, count: 50_000, burstCount: 25_000, broadcastCount: 10_000 },
    { payloadBytes: 65_536, count: 5_000, burstCount: 2_500, broadcastCount: 1_000 },
  ],
  throughputModes: ['windowed', 'burst'],
  repeats: 3,
  latencyRates: [
    { rate: 1_000, seconds: 10 },
    { rate: 10_000, seconds: 5 },
  ],
  latencyPayloadBytes: 100,
  // Long enough for V8 to stop compiling the paced path: its compile jobs, in the first seconds at
  // a new rate, take the CPU a woken thread of the other process waits for (docs/performance.md,
  // "The tail"). With 2 s the rows' p99 came out 1.5 to 5 times higher, raw zeromq.js's included.
  latencyWarmupSeconds: 10,
  graceMs: 15_000,
  sendTimeoutMs: 60_000,
};

/** `plan` with every count and paced time multiplied by `factor` (at least one message each), and `repeats` runs if given. */
export function scaledPlan(plan: BenchPlan, factor: number, repeats = plan.repeats): BenchPlan {
  const scale = (count: number) => Math.max(1, Math.round(count * factor));
  return {
    ...plan,
    scale: factor,
    repeats,
    warmupCount: scale(plan.warmupCount),
    throughputCounts: plan.throughputCounts.map((entry) => ({
      ...entry,
      count: scale(entry.count),
      burstCount: scale(entry.burstCount),
      broadcastCount: scale(entry.broadcastCount),
    })),
    latencyRates: plan.latencyRates.map((entry) => ({ ...entry, seconds: entry.seconds * factor })),
    latencyWarmupSeconds: plan.latencyWarmupSeconds * factor,
  };
}

/** The kinds of phase a run can be limited to (`--only`). */
export type PhaseKind = 'throughput' | 'latency';

/** `plan` measuring one kind of phase only: a check of one table, not a run to publish. */
export function onlyPhases(plan: BenchPlan, only: PhaseKind): BenchPlan {
  return {
    ...plan,
    partial: partialAlso(plan, `${only} only`),
    ...(only === 'latency' ? { throughputCounts: [] } : { latencyRates: [] }),
  };
}

/** `plan` with another paced warm-up before each latency phase, in seconds: a check of its effect, not a run to publish. */
export function withLatencyWarmup(plan: BenchPlan, seconds: number): BenchPlan {
  return {
    ...plan,
    partial: partialAlso(plan, `${seconds} s paced warm-up`),
    latencyWarmupSeconds: seconds,
  };
}

/**
 * `plan` with Node.js flags for every row's processes (`--node-flags "--max-semi-space-size=32"`):
 * how the transports compare on a tuned Node.js, not a run to publish. Each flag must start with `--`.
 */
export function withNodeFlags(plan: BenchPlan, flags: string): BenchPlan {
  const nodeFlags = flags.split(/\s+/).filter((flag) => flag !== '');
  const invalid = nodeFlags.find((flag) => !flag.startsWith('--'));
  if (nodeFlags.length === 0 || invalid !== undefined) {
    throw new Error(`--node-flags takes Node.js flags that start with "--", such as "--max-semi-space-size=32"; got "${flags}"`);
  }
  return {
    ...plan,
    partial: partialAlso(plan, `node ${nodeFlags.join(' ')}`),
    nodeFlags: [...(plan.nodeFlags ?? []), ...nodeFlags],
  };
}

/** What a plan already leaves out or changes, and `change`. */
function partialAlso(plan: BenchPlan, change: string): string {
  return plan.partial === undefined ? change : `${plan.partial}, ${change}`;
}
