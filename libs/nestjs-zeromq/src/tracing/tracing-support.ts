import { ProxyTracerProvider, SpanStatusCode, trace, type Span, type Tracer } from '@opentelemetry/api';

/** Attribute names and values from OpenTelemetry's messaging semantic conventions. */
export const MESSAGING_SYSTEM = 'messaging.system';
export const MESSAGING_DESTINATION = 'messaging.destination.name';
export const MESSAGING_OPERATION_TYPE = 'messaging.operation.type';
export const MESSAGING_OPERATION_NAME = 'messaging.operation.name';
export const MESSAGING_MESSAGE_ID = 'messaging.message.id';
export const ERROR_TYPE = 'error.type';
export const ZEROMQ_SYSTEM = 'zeromq';

/** Options of `traceZeroMqServer` and `traceZeroMqClient`. */
export interface ZeroMqTracingOptions {
  /**
   * Name of the tracer the spans come from (the instrumentation scope).
   * @default 'nestjs-zeromq'
   */
  tracerName?: string;
}

/** The provider the API hands out while no SDK is registered. */
const NOOP_PROVIDER = new ProxyTracerProvider().getDelegate();

/** Whether an OpenTelemetry SDK is registered; without one, tracing does no work at all. */
export function tracingEnabled(): boolean {
  const provider = trace.getTracerProvider();
  return (provider instanceof ProxyTracerProvider ? provider.getDelegate() : provider) !== NOOP_PROVIDER;
}

/** The tracer of the instrumentation scope; the API's proxy follows an SDK registered later. */
export function tracerOf(options: ZeroMqTracingOptions): Tracer {
  return trace.getTracer(options.tracerName ?? 'nestjs-zeromq');
}

/** Marks a span as failed: the exception as an event, `error.type`, and status ERROR. */
export function recordFailure(span: Span, error: unknown): void {
  const message = describe(error);
  const type = (error as { code?: unknown } | null)?.code ?? (error instanceof Error ? error.name : 'Error');
  span.recordException(error instanceof Error ? error : { name: String(type), message });
  span.setAttribute(ERROR_TYPE, String(type));
  span.setStatus({ code: SpanStatusCode.ERROR, message });
}

/** An error as one line: Nest's RPC errors are plain objects with a `message`. */
function describe(error: unknown): string {
  if (typeof error === 'string') {
    return error;
  }
  const message = (error as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? message : (JSON.stringify(error) ?? String(error));
}
