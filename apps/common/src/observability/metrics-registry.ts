import type { FactoryProvider } from '@nestjs/common';
import { collectDefaultMetrics, Registry } from 'prom-client';

/** Injection token of the app's prom-client registry, which `/metrics` serves. */
export const METRICS_REGISTRY = Symbol('METRICS_REGISTRY');

/** The app's own registry, with Node's process metrics (CPU, memory, event loop) next to the transport's. */
export const metricsRegistryProvider: FactoryProvider<Registry> = {
  provide: METRICS_REGISTRY,
  useFactory: () => {
    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    return registry;
  },
};
