/**
 * ZeroMQ transport for NestJS microservices: ZeroMqServer, ZeroMqClient, their options and events.
 * @module nestjs-zeromq
 */
export { ZEROMQ_TRANSPORT } from './constants.js';
export { ZeroMqClient } from './zeromq.client.js';
export type {
  ZeroMqClientMetrics,
  ZeroMqClientQueueState,
  ZeroMqDiscoveryMetrics,
  ZeroMqOutboxMetrics,
  ZeroMqServerMetrics,
  ZeroMqServerSocketState,
} from './zeromq.metrics.js';
export { ZeroMqContext, type ZeroMqContextArgs, type ZeroMqMessageInfo } from './zeromq.context.js';
export {
  ZeroMqOptionsError,
  ZeroMqOutboxError,
  ZeroMqRequestError,
  ZeroMqSendError,
  type ZeroMqRequestErrorCode,
  type ZeroMqSendErrorCode,
} from './zeromq.errors.js';
export { addDispatchHook, addProcessingHooks, type ZeroMqProcessingHooks } from './hooks/zeromq.hooks.js';
export {
  ZeroMqSocketEventType,
  ZeroMqStatus,
  type ZeroMqClientEvents,
  type ZeroMqDeadLetter,
  type ZeroMqHandlerOutcome,
  type ZeroMqServerEvents,
  type ZeroMqSocketEvent,
  type ZeroMqSubscriptionEvent,
  type ZeroMqUnauthorizedClient,
} from './zeromq.events.js';
export type {
  ZeroMqClientAuthorizer,
  ZeroMqClientCurveOptions,
  ZeroMqCurveClient,
  ZeroMqCurveKey,
  ZeroMqServerCurveOptions,
} from './zeromq.curve.options.js';
export type { ZeroMqOutboxOptions } from './zeromq.outbox.options.js';
export type {
  ZeroMqClientOptions,
  ZeroMqClientRoute,
  ZeroMqDeliveryMode,
  ZeroMqDiscoveryOptions,
  ZeroMqEndpoint,
  ZeroMqEndpointOptions,
  ZeroMqHeartbeatOptions,
  ZeroMqOverflowPolicy,
  ZeroMqPlainDecoding,
  ZeroMqPlainMessageOptions,
  ZeroMqServerOptions,
  ZeroMqServerRoute,
  ZeroMqSocketKind,
  ZeroMqSocketTuningOptions,
} from './zeromq.options.js';
export { ZeroMqBroadcastProxy } from './proxy/zeromq-broadcast-proxy.js';
export type { ZeroMqBroadcastProxyCurveOptions, ZeroMqBroadcastProxyOptions } from './proxy/zeromq-broadcast-proxy.options.js';
export { ZeroMqRecord, ZeroMqRecordBuilder, type ZeroMqRecordOptions } from './record-builders/zeromq.record-builder.js';
export { ZeroMqServer } from './zeromq.server.js';
export type { EndpointDiscoveryOptions } from './discovery/endpoint-discovery.options.js';
