/**
 * Prometheus metrics through prom-client (an optional peer dependency) for a ZeroMqServer or ZeroMqClient.
 * @module nestjs-zeromq/prometheus
 */
export { registerZeroMqClientMetrics, type ZeroMqClientMetricsOptions } from './client-metrics.js';
export { OTHER_PATTERN } from './pattern-labels.js';
export { registerZeroMqServerMetrics } from './server-metrics.js';
export { SENT_AT_METADATA_KEY, type ZeroMqMetricsOptions } from './zeromq-metrics.options.js';
export { ZEROMQ_METRICS_REGISTRY, ZeroMqMetricsModule, type ZeroMqMetricsModuleOptions } from './zeromq-metrics.module.js';
