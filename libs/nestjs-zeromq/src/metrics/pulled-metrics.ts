import { Counter, Gauge, type Registry } from 'prom-client';

/** One value of a metric, read at scrape time. */
export interface Sample {
  labels: Record<string, string>;
  value: number;
}

export interface PulledMetric {
  kind: 'counter' | 'gauge';
  name: string;
  help: string;
  labelNames: readonly string[];
}

/** What reads a metric's samples from one server or client. */
type Reader = () => Sample[];

const readersByMetric = new WeakMap<object, Set<Reader>>();

/**
 * Registers (or joins) a metric whose values are read from `read` at scrape time, so that the
 * transport's hot path pays nothing for it. Several servers or clients may share one metric on a
 * registry: each adds its reader and tells itself apart with a label.
 */
export function registerPulled(registry: Registry, metric: PulledMetric, read: Reader): void {
  let existing = registry.getSingleMetric(metric.name) as Counter | Gauge | undefined;
  if (existing === undefined) {
    const readers = new Set<Reader>();
    const config = { name: metric.name, help: metric.help, labelNames: metric.labelNames, registers: [registry] };
    existing =
      metric.kind === 'counter'
        ? new Counter({
            ...config,
            collect(this: Counter) {
              // A counter read from the transport's own totals: set it to them.
              this.reset();
              for (const sample of readAll(readers)) {
                this.inc(sample.labels, sample.value);
              }
            },
          })
        : new Gauge({
            ...config,
            collect(this: Gauge) {
              this.reset();
              for (const sample of readAll(readers)) {
                this.set(sample.labels, sample.value);
              }
            },
          });
    readersByMetric.set(existing, readers);
  }
  const readers = readersByMetric.get(existing);
  if (readers === undefined) {
    throw new Error(`Metric ${metric.name} is already registered by something other than nestjs-zeromq`);
  }
  readers.add(read);
}

function readAll(readers: Set<Reader>): Sample[] {
  return [...readers].flatMap((read) => read());
}

/** Converts a getMetrics() key to a metric name part: `unknownPattern` → `unknown_pattern`. */
export function snakeCase(key: string): string {
  return key.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
}
