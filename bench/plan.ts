/** How much traffic each mode sends. Quick checks that every row runs; full is the one to publish. */
export interface BenchPlan {
  mode: 'quick' | 'full';
  /** Messages sent before measuring, to warm up the JIT and the connections. */
  warmupCount: number;
  /** Saturated throughput: messages per run by payload size in bytes. */
  throughputCounts: ReadonlyArray<{ payloadBytes: number; count: number }>;
  /** Runs per payload size; the median is reported. */
  repeats: number;
  /** Paced latency phases, all with `latencyPayloadBytes` messages. */
  latencyRates: ReadonlyArray<{ rate: number; seconds: number }>;
  latencyPayloadBytes: number;
  /** How long the consumer may take to catch up after the producer is done, ms. */
  graceMs: number;
  /** Upper bound of one phase's sending, ms. */
  sendTimeoutMs: number;
}

export const QUICK_PLAN: BenchPlan = {
  mode: 'quick',
  warmupCount: 2_000,
  throughputCounts: [
    { payloadBytes: 100, count: 10_000 },
    { payloadBytes: 4096, count: 2_000 },
    { payloadBytes: 65_536, count: 200 },
  ],
  repeats: 1,
  latencyRates: [
    { rate: 1_000, seconds: 1 },
    { rate: 10_000, seconds: 0.5 },
  ],
  latencyPayloadBytes: 100,
  graceMs: 5_000,
  sendTimeoutMs: 20_000,
};

export const FULL_PLAN: BenchPlan = {
  mode: 'full',
  warmupCount: 20_000,
  throughputCounts: [
    { payloadBytes: 100, count: 200_000 },
    { payloadBytes: 4096, count: 50_000 },
    { payloadBytes: 65_536, count: 5_000 },
  ],
  repeats: 3,
  latencyRates: [
    { rate: 1_000, seconds: 10 },
    { rate: 10_000, seconds: 5 },
  ],
  latencyPayloadBytes: 100,
  graceMs: 15_000,
  sendTimeoutMs: 60_000,
};
