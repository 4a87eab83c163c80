import { context, propagation, SpanKind, trace } from '@opentelemetry/api';
import type { PacketMetadata } from '@nestjs/microservices';
import { defer, finalize, tap, type Observable } from 'rxjs';
import { ZeroMqRecord } from '../record-builders/zeromq.record-builder.js';
import type { ZeroMqClient } from '../zeromq.client.js';
import {
  MESSAGING_DESTINATION,
  MESSAGING_OPERATION_NAME,
  MESSAGING_OPERATION_TYPE,
  MESSAGING_SYSTEM,
  recordFailure,
  tracerOf,
  tracingEnabled,
  ZEROMQ_SYSTEM,
  type ZeroMqTracingOptions,
} from './tracing-support.js';

type Call = (pattern: unknown, data: unknown) => Observable<unknown>;

/**
 * Traces a ZeroMqClient's `emit()` and `send()`: each gets a span (PRODUCER for an emit, CLIENT
 * for a request) that is a child of the caller's active span, lasts until the emit is handed to
 * ZeroMQ (at-least-once: acknowledged) or the last reply arrives, and records a failure. Its
 * context travels to the worker in the message's metadata through the registered propagator
 * (W3C `traceparent` / `tracestate` with the SDK's defaults). Without a registered SDK the calls
 * go straight through.
 */
export function traceZeroMqClient(client: ZeroMqClient, options: ZeroMqTracingOptions = {}): void {
  const tracer = tracerOf(options);
  const emit = client.emit.bind(client) as Call;
  const send = client.send.bind(client) as Call;
  const patternOf = (pattern: unknown) =>
    typeof pattern === 'string' ? pattern : (client as unknown as { normalizePattern(pattern: unknown): string }).normalizePattern(pattern);

  /** Starts the span of one call and returns it with the data to send: a record carrying its context. */
  const start = (operation: 'emit' | 'send', pattern: unknown, data: unknown) => {
    const destination = patternOf(pattern);
    const span = tracer.startSpan(`${operation} ${destination}`, {
      kind: operation === 'emit' ? SpanKind.PRODUCER : SpanKind.CLIENT,
      attributes: {
        [MESSAGING_SYSTEM]: ZEROMQ_SYSTEM,
        [MESSAGING_DESTINATION]: destination,
        [MESSAGING_OPERATION_TYPE]: 'send',
        [MESSAGING_OPERATION_NAME]: operation,
      },
    });
    const headers: PacketMetadata = {};
    propagation.inject(trace.setSpan(context.active(), span), headers);
    const record =
      data instanceof ZeroMqRecord
        ? new ZeroMqRecord(data.data, { ...data.headers, ...headers }, data.options)
        : new ZeroMqRecord(data, headers);
    return { span, record };
  };

  (client as unknown as { emit: Call }).emit = (pattern, data) => {
    // Nil data is Nest's InvalidMessageException: let emit() throw it.
    if (!tracingEnabled() || data === undefined || data === null) {
      return emit(pattern, data);
    }
    const { span, record } = start('emit', pattern, data);
    const result = emit(pattern, record);
    // emit() is hot: this subscriber sees its outcome whether or not the caller subscribes.
    result.subscribe({
      error: (error: unknown) => {
        recordFailure(span, error);
        span.end();
      },
      complete: () => span.end(),
    });
    return result;
  };

  (client as unknown as { send: Call }).send = (pattern, data) => {
    if (!tracingEnabled() || data === undefined || data === null) {
      return send(pattern, data);
    }
    // send() is cold: one request, and one span, per subscription.
    return defer(() => {
      const { span, record } = start('send', pattern, data);
      return send(pattern, record).pipe(
        tap({ error: (error: unknown) => recordFailure(span, error) }),
        finalize(() => span.end()),
      );
    });
  };
}
