import type { Registry } from 'prom-client';

/**
 * The observations of one label set: a count per bucket (not cumulative; the last one is +Inf),
 * their sum and number. Observing is a short scan and three additions: no label hashing, no
 * allocation, which prom-client's own Histogram does on every `observe()`.
 */
export class HistogramCell {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(private readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    let bucket = 0;
    while (bucket < this.bounds.length && value > this.bounds[bucket]) {
      bucket++;
    }
    this.counts[bucket]++;
    this.sum += value;
    this.count++;
  }
}

interface MetricValue {
  labels: Record<string, string | number>;
  value: number;
  metricName: string;
}

/**
 * A Prometheus histogram kept as HistogramCells and rendered when the registry is scraped, in the
 * text prom-client writes for its own histograms (`_bucket` with cumulative `le`, `_sum`, `_count`).
 * It is a metric object of the registry's duck-typed kind (`get()`, `reset()`), like prom-client's.
 */
export class PulledHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly cells = new Map<string, { labels: Record<string, string>; cell: HistogramCell }>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
    readonly buckets: readonly number[],
  ) {}

  /** The cell of a label set, made on first use; callers keep it rather than ask per observation. */
  cell(labels: Record<string, string>): HistogramCell {
    const key = this.labelNames.map((name) => labels[name]).join('\u0000');
    let entry = this.cells.get(key);
    if (entry === undefined) {
      entry = { labels: { ...labels }, cell: new HistogramCell(this.buckets) };
      this.cells.set(key, entry);
    }
    return entry.cell;
  }

  get(): { name: string; help: string; type: 'histogram'; aggregator: 'sum'; values: MetricValue[] } {
    const values: MetricValue[] = [];
    for (const { labels, cell } of this.cells.values()) {
      if (cell.count === 0) {
        // A label set appears once it has an observation, as in prom-client.
        continue;
      }
      let cumulative = 0;
      this.buckets.forEach((bound, index) => {
        cumulative += cell.counts[index];
        values.push({ labels: { le: bound, ...labels }, value: cumulative, metricName: `${this.name}_bucket` });
      });
      values.push({ labels: { le: '+Inf', ...labels }, value: cell.count, metricName: `${this.name}_bucket` });
      values.push({ labels, value: cell.sum, metricName: `${this.name}_sum` });
      values.push({ labels, value: cell.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  /** Forgets every observation (`registry.resetMetrics()`); cells handed out keep counting from zero. */
  reset(): void {
    for (const { cell } of this.cells.values()) {
      cell.counts.fill(0);
      cell.sum = 0;
      cell.count = 0;
    }
  }
}

/** The histogram of that name on the registry, registered on first use (several servers or clients share it). */
export function sharedHistogram(
  registry: Registry,
  name: string,
  help: string,
  labelNames: readonly string[],
  buckets: readonly number[],
): PulledHistogram {
  const existing: unknown = registry.getSingleMetric(name);
  if (existing !== undefined) {
    if (!(existing instanceof PulledHistogram)) {
      throw new Error(`Metric ${name} is already registered by something other than nestjs-zeromq`);
    }
    return existing;
  }
  const histogram = new PulledHistogram(
    name,
    help,
    labelNames,
    [...buckets].sort((a, b) => a - b),
  );
  registry.registerMetric(histogram as unknown as Parameters<Registry['registerMetric']>[0]);
  return histogram;
}
