// Entry point `nestjs-zeromq/opentelemetry`: needs the optional peer @opentelemetry/api (you bring the SDK).
export { traceZeroMqClient } from './client-tracing.js';
export { traceZeroMqServer } from './server-tracing.js';
export { tracingEnabled, type ZeroMqTracingOptions } from './tracing-support.js';
