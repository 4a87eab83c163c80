/**
 * The options of ZeroMqServer and ZeroMqClient, one entry for the library's own imports: what
 * every socket shares (zeromq.socket.options.ts), the server's (zeromq.server.options.ts) and the
 * client's (zeromq.client.options.ts).
 */
export type {
  ZeroMqDeliveryMode,
  ZeroMqDiscoveryOptions,
  ZeroMqEndpoint,
  ZeroMqEndpointOptions,
  ZeroMqHeartbeatOptions,
  ZeroMqPlainDecoding,
  ZeroMqPlainMessageOptions,
  ZeroMqSocketKind,
  ZeroMqSocketTuningOptions,
} from './zeromq.socket.options.js';
export type { ZeroMqServerOptions, ZeroMqServerRoute } from './zeromq.server.options.js';
export type {
  ZeroMqClientOptions,
  ZeroMqClientRoute,
  ZeroMqKeyedPoison,
  ZeroMqKeyFunction,
  ZeroMqOverflowPolicy,
} from './zeromq.client.options.js';
