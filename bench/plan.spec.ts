import { FULL_PLAN, onlyPhases, QUICK_PLAN, scaledPlan, withLatencyWarmup, withNodeFlags } from './plan.js';

describe('bench plan', () => {
  it('measures only the latency phases with --only latency, and marks the run as not one to publish', () => {
    const plan = onlyPhases(FULL_PLAN, 'latency');
    expect(plan.throughputCounts).toEqual([]);
    expect(plan.latencyRates).toEqual(FULL_PLAN.latencyRates);
    expect(plan.partial).toBe('latency only');
  });

  it('measures only the throughput phases with --only throughput', () => {
    const plan = onlyPhases(QUICK_PLAN, 'throughput');
    expect(plan.latencyRates).toEqual([]);
    expect(plan.throughputCounts).toEqual(QUICK_PLAN.throughputCounts);
    expect(plan.partial).toBe('throughput only');
  });

  it('changes the paced warm-up with --latency-warmup and says so beside any other change', () => {
    const plan = withLatencyWarmup(onlyPhases(scaledPlan(FULL_PLAN, 0.5), 'latency'), 3);
    expect(plan.latencyWarmupSeconds).toBe(3);
    expect(plan.partial).toBe('latency only, 3 s paced warm-up');
    expect(plan.scale).toBe(0.5);
  });

  it("gives every process the --node-flags, and says so in the run's description", () => {
    const plan = withNodeFlags(onlyPhases(FULL_PLAN, 'throughput'), ' --max-semi-space-size=32  --v8-pool-size=2 ');
    expect(plan.nodeFlags).toEqual(['--max-semi-space-size=32', '--v8-pool-size=2']);
    expect(plan.partial).toBe('throughput only, node --max-semi-space-size=32 --v8-pool-size=2');
    expect(FULL_PLAN.nodeFlags).toBeUndefined();
  });

  it('refuses --node-flags that are not flags', () => {
    expect(() => withNodeFlags(FULL_PLAN, 'max-semi-space-size=32')).toThrow('--node-flags takes Node.js flags that start with "--"');
    expect(() => withNodeFlags(FULL_PLAN, '  ')).toThrow('--node-flags takes Node.js flags');
  });

  it('leaves the published plans whole', () => {
    expect(FULL_PLAN.partial).toBeUndefined();
    expect(QUICK_PLAN.partial).toBeUndefined();
    expect(scaledPlan(FULL_PLAN, 2).partial).toBeUndefined();
  });
});
