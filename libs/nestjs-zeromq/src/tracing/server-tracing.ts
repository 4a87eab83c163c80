import { context, propagation, SpanKind, trace, type Span } from '@opentelemetry/api';
import { addProcessingHooks } from '../hooks/zeromq.hooks.js';
import type { ZeroMqContext } from '../zeromq.context.js';
import type { ZeroMqServer } from '../zeromq.server.js';
import {
  MESSAGING_DESTINATION,
  MESSAGING_MESSAGE_ID,
  MESSAGING_OPERATION_NAME,
  MESSAGING_OPERATION_TYPE,
  MESSAGING_SYSTEM,
  recordFailure,
  tracerOf,
  tracingEnabled,
  ZEROMQ_SYSTEM,
  type ZeroMqTracingOptions,
} from './tracing-support.js';

const NO_METADATA = {};

/**
 * Traces a ZeroMqServer's handlers: each run gets a span (CONSUMER for an event, SERVER for a
 * request), a child of the producer's span when the message carries a trace context in its
 * metadata and a new trace otherwise (plain ZeroMQ peers), active while the handler runs, and
 * marked failed when the handler fails. Without a registered SDK the handlers run untouched.
 * Call it before `listen()`.
 */
export function traceZeroMqServer(server: ZeroMqServer, options: ZeroMqTracingOptions = {}): void {
  const tracer = tracerOf(options);
  const spans = new WeakMap<ZeroMqContext, Span>();
  server.on('handler-error', (error, handlerContext) => {
    const span = spans.get(handlerContext);
    if (span !== undefined) {
      recordFailure(span, error);
    }
  });
  addProcessingHooks(server, {
    active: tracingEnabled,
    start: (handlerContext, next) => {
      if (!tracingEnabled()) {
        return next();
      }
      const pattern = handlerContext.getPattern();
      const isEvent = server.getHandlerByPattern(pattern)?.isEventHandler !== false;
      const messageId = handlerContext.getMessageId();
      const parent = propagation.extract(context.active(), handlerContext.getMetadata() ?? NO_METADATA);
      const span = tracer.startSpan(
        `process ${pattern}`,
        {
          kind: isEvent ? SpanKind.CONSUMER : SpanKind.SERVER,
          attributes: {
            [MESSAGING_SYSTEM]: ZEROMQ_SYSTEM,
            [MESSAGING_DESTINATION]: pattern,
            [MESSAGING_OPERATION_TYPE]: 'process',
            [MESSAGING_OPERATION_NAME]: 'process',
            ...(messageId === undefined ? {} : { [MESSAGING_MESSAGE_ID]: messageId }),
          },
        },
        parent,
      );
      spans.set(handlerContext, span);
      return context.with(trace.setSpan(parent, span), next);
    },
    end: (handlerContext) => {
      spans.get(handlerContext)?.end();
      spans.delete(handlerContext);
    },
  });
}
