import { Histogram, Registry } from 'prom-client';
import { sharedHistogram } from './pulled-histogram.js';

describe('PulledHistogram', () => {
  const buckets = [0.001, 0.01, 0.1, 1];
  const observations: Array<[Record<string, string>, number]> = [
    [{ socket: 'a', pattern: 'p' }, 0.0005],
    [{ socket: 'a', pattern: 'p' }, 0.001], // on a bound: counted in that bucket (le)
    [{ socket: 'a', pattern: 'p' }, 0.05],
    [{ socket: 'a', pattern: 'p' }, 3],
    [{ socket: 'b', pattern: 'q' }, 0.2],
  ];

  it("scrapes as the same text as prom-client's own Histogram given the same observations", async () => {
    const ours = new Registry();
    const histogram = sharedHistogram(ours, 'test_seconds', 'A test histogram.', ['socket', 'pattern'], buckets);
    const theirs = new Registry();
    const reference = new Histogram({
      name: 'test_seconds',
      help: 'A test histogram.',
      labelNames: ['socket', 'pattern'],
      buckets,
      registers: [theirs],
    });
    for (const [labels, value] of observations) {
      histogram.cell(labels).observe(value);
      reference.observe(labels, value);
    }
    expect(await ours.metrics()).toBe(await theirs.metrics());
  });

  it('is shared by name on a registry, refuses a foreign metric of that name, and resets', async () => {
    const registry = new Registry();
    const first = sharedHistogram(registry, 'shared_seconds', 'h', ['socket'], buckets);
    expect(sharedHistogram(registry, 'shared_seconds', 'h', ['socket'], buckets)).toBe(first);
    new Histogram({ name: 'foreign_seconds', help: 'h', registers: [registry] });
    expect(() => sharedHistogram(registry, 'foreign_seconds', 'h', [], buckets)).toThrow(/already registered by something other/);
    const cell = first.cell({ socket: 'a' });
    cell.observe(0.5);
    expect(await registry.getSingleMetricAsString('shared_seconds')).toContain('shared_seconds_count{socket="a"} 1');
    registry.resetMetrics();
    // A label set without observations is not shown (as prom-client does); the cell counts on.
    expect(await registry.getSingleMetricAsString('shared_seconds')).not.toContain('socket="a"');
    cell.observe(0.5);
    expect(await registry.getSingleMetricAsString('shared_seconds')).toContain('shared_seconds_count{socket="a"} 1');
  });
});
