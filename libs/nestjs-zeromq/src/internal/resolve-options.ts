import type { MsPattern } from '@nestjs/microservices';
import { z } from 'zod';
import * as defaults from '../constants.js';
import { normalizePattern } from './nest-pattern.js';
import { clientCurveSchema, resolveClientCurve, resolveServerCurve, serverCurveSchema, type ResolvedCurve } from './curve.js';
import { ZeroMqOptionsError } from '../zeromq.errors.js';
import type {
  ZeroMqClientOptions,
  ZeroMqEndpoint,
  ZeroMqPlainDecoding,
  ZeroMqDeliveryMode,
  ZeroMqServerOptions,
  ZeroMqSocketKind,
} from '../zeromq.options.js';

export interface ResolvedEndpoint {
  address: string;
  bind: boolean;
}

/** One socket to open: the default one or a route's. */
export interface SocketPlan {
  name: string;
  kind: ZeroMqSocketKind;
  endpoints: ResolvedEndpoint[];
  /** Normalized patterns of a route; empty for the default socket. */
  patterns: string[];
}

export interface ResolvedTuning {
  linger: number;
  heartbeat: { interval: number; timeout: number } | false;
  reconnectInterval: number;
  reconnectMaxInterval: number;
  logInterval: number;
  /** CURVE keys that `tuningSocketOptions` gives every socket; undefined for plaintext. */
  curve: ResolvedCurve | undefined;
}

export interface ResolvedServerOptions extends ResolvedTuning {
  sockets: Array<SocketPlan & { concurrency: number }>;
  maxMessageSize: number;
  maxPatternLength: number;
  maxRecordsPerMessage: number;
  receiveHighWaterMark: number;
  closeTimeout: number;
  dedupeWindow: number;
  plainMessages: { pattern: string; decoding: ZeroMqPlainDecoding } | undefined;
}

export interface ResolvedClientOptions extends ResolvedTuning {
  sockets: Array<SocketPlan & { bare: boolean; delivery: ZeroMqDeliveryMode }>;
  ackTimeout: number;
  maxAttempts: number;
  retryDelay: number;
  maxRetryDelay: number;
  deadLetterEndpoints: ResolvedEndpoint[];
  maxQueueSize: number;
  maxQueueBytes: number;
  overflow: 'reject' | 'drop-oldest';
  sendTimeout: number;
  connectTimeout: number;
  immediate: boolean;
  maxBatchSize: number;
  maxBatchBytes: number;
  sendHighWaterMark: number;
  closeTimeout: number;
  requestTimeout: number;
}

const ADDRESS = /^(tcp:\/\/[^\s/]+:(\d+|\*)|ipc:\/\/\S+|inproc:\/\/\S+)$/;

// A string endpoint is shorthand for { address }; validating the object form gives precise messages.
const endpointSchema = z.preprocess(
  (value) => (typeof value === 'string' ? { address: value } : value),
  z.strictObject({
    address: z.string().regex(ADDRESS, 'must be tcp://host:port, ipc://path or inproc://name'),
    bind: z.boolean().optional(),
  }),
);

const patternSchema = z.custom<MsPattern>(
  (value) => typeof value === 'string' ? value.length > 0 : typeof value === 'number' || (typeof value === 'object' && value !== null),
  'must be a non-empty string, a number or an object',
);

const positiveInt = z.number().int().positive();
const nonNegativeInt = z.number().int().nonnegative();

const serializerSchema = z.custom<unknown>(
  (value) => typeof (value as { serialize?: unknown })?.serialize === 'function',
  'must have a serialize(value) method',
);
const deserializerSchema = z.custom<unknown>(
  (value) => typeof (value as { deserialize?: unknown })?.deserialize === 'function',
  'must have a deserialize(value) method',
);

const tuningShape = {
  linger: nonNegativeInt.optional(),
  heartbeat: z.union([
    z.literal(false),
    z.strictObject({ interval: positiveInt.optional(), timeout: positiveInt.optional() }),
  ]).optional(),
  reconnectInterval: positiveInt.optional(),
  reconnectMaxInterval: nonNegativeInt.optional(),
  logInterval: nonNegativeInt.optional(),
};

const kindSchema = z.enum(['push-pull', 'dealer-router']);
const deliverySchema = z.enum(['at-most-once', 'at-least-once']);

const routeShape = {
  name: z.string().min(1).optional(),
  kind: kindSchema.optional(),
  patterns: z.array(patternSchema).min(1, 'a route needs at least one pattern'),
  endpoints: z.array(endpointSchema).min(1, 'a route needs at least one endpoint'),
};

const serverSchema = z.strictObject({
  ...tuningShape,
  endpoints: z.array(endpointSchema).optional(),
  kind: kindSchema.optional(),
  routes: z.array(z.strictObject({ ...routeShape, concurrency: positiveInt.optional() })).optional(),
  concurrency: positiveInt.optional(),
  maxMessageSize: z.number().int().min(-1).optional(),
  maxPatternLength: positiveInt.optional(),
  maxRecordsPerMessage: positiveInt.optional(),
  receiveHighWaterMark: nonNegativeInt.optional(),
  closeTimeout: nonNegativeInt.optional(),
  dedupeWindow: positiveInt.optional(),
  plainMessages: z.strictObject({
    pattern: z.string().min(1),
    decoding: z.enum(['utf8', 'json', 'buffer']).optional(),
  }).optional(),
  serializer: serializerSchema.optional(),
  deserializer: deserializerSchema.optional(),
  curve: serverCurveSchema.optional(),
});

const clientSchema = z.strictObject({
  ...tuningShape,
  endpoints: z.array(endpointSchema).optional(),
  kind: kindSchema.optional(),
  requestTimeout: nonNegativeInt.optional(),
  routes: z.array(z.strictObject({ ...routeShape, bare: z.boolean().optional(), delivery: deliverySchema.optional() })).optional(),
  delivery: deliverySchema.optional(),
  ackTimeout: positiveInt.optional(),
  maxAttempts: positiveInt.max(9999).optional(),
  retryDelay: nonNegativeInt.optional(),
  maxRetryDelay: nonNegativeInt.optional(),
  deadLetterEndpoints: z.array(endpointSchema).optional(),
  maxQueueSize: positiveInt.optional(),
  maxQueueBytes: positiveInt.optional(),
  overflow: z.enum(['reject', 'drop-oldest']).optional(),
  sendTimeout: nonNegativeInt.optional(),
  connectTimeout: nonNegativeInt.optional(),
  immediate: z.boolean().optional(),
  maxBatchSize: positiveInt.optional(),
  maxBatchBytes: positiveInt.optional(),
  sendHighWaterMark: nonNegativeInt.optional(),
  closeTimeout: nonNegativeInt.optional(),
  serializer: serializerSchema.optional(),
  deserializer: deserializerSchema.optional(),
  curve: clientCurveSchema.optional(),
});

function parse<T>(schema: z.ZodType<T>, options: unknown, owner: string): T {
  const result = schema.safeParse(options ?? {});
  if (!result.success) {
    throw new ZeroMqOptionsError(`Invalid ${owner} options:\n${z.prettifyError(result.error)}`);
  }
  return result.data;
}

function resolveEndpoints(endpoints: ZeroMqEndpoint[] | undefined, defaultBind: boolean): ResolvedEndpoint[] {
  return (endpoints ?? []).map((endpoint) =>
    typeof endpoint === 'string'
      ? { address: endpoint, bind: defaultBind }
      : { address: endpoint.address, bind: endpoint.bind ?? defaultBind },
  );
}

function resolveTuning(options: z.infer<typeof serverSchema> | z.infer<typeof clientSchema>): Omit<ResolvedTuning, 'curve'> {
  return {
    linger: options.linger ?? defaults.DEFAULT_LINGER,
    heartbeat:
      options.heartbeat === false
        ? false
        : {
            interval: options.heartbeat?.interval ?? defaults.DEFAULT_HEARTBEAT_INTERVAL,
            timeout: options.heartbeat?.timeout ?? defaults.DEFAULT_HEARTBEAT_TIMEOUT,
          },
    reconnectInterval: options.reconnectInterval ?? defaults.DEFAULT_RECONNECT_INTERVAL,
    reconnectMaxInterval: options.reconnectMaxInterval ?? defaults.DEFAULT_RECONNECT_MAX_INTERVAL,
    logInterval: options.logInterval ?? defaults.DEFAULT_LOG_INTERVAL,
  };
}

interface RouteInput {
  name?: string;
  kind?: ZeroMqSocketKind;
  delivery?: ZeroMqDeliveryMode;
  patterns: MsPattern[];
  endpoints: ZeroMqEndpoint[];
}

/** The default socket (if it has endpoints) and one socket per route, with names checked. */
function planSockets<R extends RouteInput>(
  owner: string,
  options: { endpoints?: ZeroMqEndpoint[]; kind?: ZeroMqSocketKind; delivery?: ZeroMqDeliveryMode; routes?: R[] },
  defaultBind: boolean,
): Array<SocketPlan & { route: R | undefined }> {
  const { endpoints, routes } = options;
  // At-least-once travels over DEALER/ROUTER: it implies that kind unless one is set.
  const kindFor = (kind: ZeroMqSocketKind | undefined, delivery: ZeroMqDeliveryMode | undefined) =>
    kind ?? options.kind ?? (delivery === 'at-least-once' ? 'dealer-router' : defaults.DEFAULT_SOCKET_KIND);
  const defaultKind = kindFor(undefined, options.delivery);
  const plans: Array<SocketPlan & { route: R | undefined }> = [];
  if (endpoints !== undefined && endpoints.length > 0) {
    plans.push({
      name: defaults.DEFAULT_SOCKET_NAME,
      kind: defaultKind,
      endpoints: resolveEndpoints(endpoints, defaultBind),
      patterns: [],
      route: undefined,
    });
  }
  const seenPatterns = new Map<string, string>();
  for (const route of routes ?? []) {
    const patterns = route.patterns.map((pattern) => normalizePattern(pattern));
    const name = route.name ?? patterns[0];
    if (plans.some((plan) => plan.name === name)) {
      throw new ZeroMqOptionsError(`Invalid ${owner} options: two sockets are named "${name}"; give each route a unique name`);
    }
    for (const pattern of patterns) {
      const other = seenPatterns.get(pattern);
      if (other !== undefined) {
        throw new ZeroMqOptionsError(
          `Invalid ${owner} options: pattern "${pattern}" is in two routes ("${other}" and "${name}"); a pattern can have one route`,
        );
      }
      seenPatterns.set(pattern, name);
    }
    plans.push({ name, kind: kindFor(route.kind, route.delivery ?? options.delivery), endpoints: resolveEndpoints(route.endpoints, defaultBind), patterns, route });
  }
  if (plans.length === 0) {
    throw new ZeroMqOptionsError(
      `Invalid ${owner} options: no socket to open; set "endpoints" (for example ["tcp://127.0.0.1:5557"]) or "routes"`,
    );
  }
  return plans;
}

export function resolveServerOptions(input: ZeroMqServerOptions | undefined): ResolvedServerOptions {
  const options = parse(serverSchema, input, 'ZeroMqServer');
  const concurrency = options.concurrency ?? defaults.DEFAULT_CONCURRENCY;
  const plans = planSockets('ZeroMqServer', options, defaults.DEFAULT_SERVER_BIND);
  return {
    ...resolveTuning(options),
    curve: resolveServerCurve(options.curve),
    sockets: plans.map(({ route, ...plan }) => ({ ...plan, concurrency: route?.concurrency ?? concurrency })),
    maxMessageSize: options.maxMessageSize ?? defaults.DEFAULT_MAX_MESSAGE_SIZE,
    maxPatternLength: options.maxPatternLength ?? defaults.DEFAULT_MAX_PATTERN_LENGTH,
    maxRecordsPerMessage: options.maxRecordsPerMessage ?? defaults.DEFAULT_MAX_RECORDS_PER_MESSAGE,
    receiveHighWaterMark: options.receiveHighWaterMark ?? defaults.DEFAULT_RECEIVE_HIGH_WATER_MARK,
    closeTimeout: options.closeTimeout ?? defaults.DEFAULT_SERVER_CLOSE_TIMEOUT,
    dedupeWindow: options.dedupeWindow ?? defaults.DEFAULT_DEDUPE_WINDOW,
    plainMessages: options.plainMessages && {
      pattern: options.plainMessages.pattern,
      decoding: options.plainMessages.decoding ?? defaults.DEFAULT_PLAIN_MESSAGE_DECODING,
    },
  };
}

export function resolveClientOptions(input: ZeroMqClientOptions | undefined): ResolvedClientOptions {
  const options = parse(clientSchema, input, 'ZeroMqClient');
  const plans = planSockets('ZeroMqClient', options, defaults.DEFAULT_CLIENT_BIND);
  const sockets = plans.map(({ route, ...plan }) => ({
    ...plan,
    bare: route?.bare ?? false,
    delivery: route?.delivery ?? options.delivery ?? defaults.DEFAULT_DELIVERY,
  }));
  for (const plan of sockets) {
    const problem =
      plan.bare && plan.kind !== 'push-pull'
        ? `is bare, which needs kind 'push-pull' (a plain PULL peer); it has '${plan.kind}'`
        : plan.delivery === 'at-least-once' && plan.kind !== 'dealer-router'
          ? `is at-least-once, which needs kind 'dealer-router' (acks travel back); it has '${plan.kind}'`
          : plan.delivery === 'at-least-once' && plan.endpoints.some((endpoint) => endpoint.bind)
            ? 'is at-least-once, which needs the client to connect to each worker endpoint (bind: false) so that credits and acks are per worker'
            : undefined;
    if (problem !== undefined) {
      throw new ZeroMqOptionsError(`Invalid ZeroMqClient options: socket "${plan.name}" ${problem}`);
    }
  }
  return {
    ...resolveTuning(options),
    curve: resolveClientCurve(options.curve),
    sockets,
    ackTimeout: options.ackTimeout ?? defaults.DEFAULT_ACK_TIMEOUT,
    maxAttempts: options.maxAttempts ?? defaults.DEFAULT_MAX_ATTEMPTS,
    retryDelay: options.retryDelay ?? defaults.DEFAULT_RETRY_DELAY,
    maxRetryDelay: options.maxRetryDelay ?? defaults.DEFAULT_MAX_RETRY_DELAY,
    deadLetterEndpoints: resolveEndpoints(options.deadLetterEndpoints, defaults.DEFAULT_CLIENT_BIND),
    maxQueueSize: options.maxQueueSize ?? defaults.DEFAULT_MAX_QUEUE_SIZE,
    maxQueueBytes: options.maxQueueBytes ?? defaults.DEFAULT_MAX_QUEUE_BYTES,
    overflow: options.overflow ?? defaults.DEFAULT_QUEUE_OVERFLOW,
    sendTimeout: options.sendTimeout ?? defaults.DEFAULT_SEND_TIMEOUT,
    connectTimeout: options.connectTimeout ?? defaults.DEFAULT_CONNECT_TIMEOUT,
    immediate: options.immediate ?? defaults.DEFAULT_IMMEDIATE,
    maxBatchSize: options.maxBatchSize ?? defaults.DEFAULT_MAX_BATCH_SIZE,
    maxBatchBytes: options.maxBatchBytes ?? defaults.DEFAULT_MAX_BATCH_BYTES,
    sendHighWaterMark: options.sendHighWaterMark ?? defaults.DEFAULT_SEND_HIGH_WATER_MARK,
    closeTimeout: options.closeTimeout ?? defaults.DEFAULT_CLIENT_CLOSE_TIMEOUT,
    requestTimeout: options.requestTimeout ?? defaults.DEFAULT_REQUEST_TIMEOUT,
  };
}
