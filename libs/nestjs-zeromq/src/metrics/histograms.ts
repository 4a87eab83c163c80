import { Histogram, type Registry } from 'prom-client';

/** The histogram of that name on the registry, made on first use (several servers or clients share it). */
export function sharedHistogram<L extends string>(
  registry: Registry,
  name: string,
  help: string,
  labelNames: readonly L[],
  buckets: number[],
): Histogram<L> {
  const existing = registry.getSingleMetric(name);
  if (existing !== undefined) {
    if (!(existing instanceof Histogram)) {
      throw new Error(`Metric ${name} is already registered by something other than nestjs-zeromq`);
    }
    return existing as Histogram<L>;
  }
  return new Histogram({ name, help, labelNames, buckets, registers: [registry] });
}
