/**
 * OpenTelemetry tracing through @opentelemetry/api (an optional peer dependency; you bring the SDK).
 * @module nestjs-zeromq/opentelemetry
 */
export { traceZeroMqClient } from './client-tracing.js';
export { traceZeroMqServer } from './server-tracing.js';
export { tracingEnabled, type ZeroMqTracingOptions } from './tracing-support.js';
