import type { MsPattern } from '@nestjs/microservices';
import { z } from 'zod';
import type { ZeroMqClientOptions, ZeroMqServerOptions } from '../../zeromq.options.js';
import { discoveryOptionsSchema } from './discovery-options.schema.js';
import { clientCurveSchema, serverCurveSchema } from '../security/curve.js';
import { CLIENT_DEFAULTS, SERVER_DEFAULTS, TUNING_DEFAULTS } from './defaults.js';
import { SOCKET_KIND_NAMES } from './kind-names.js';

const ADDRESS = /^(tcp:\/\/[^\s/]+:(\d+|\*)|ipc:\/\/\S+|inproc:\/\/\S+|tcp\+(dns|srv):\/\/\S+)$/;

// A string endpoint is shorthand for { address }; validating the object form gives precise messages.
const endpointSchema = z.preprocess(
  (value) => (typeof value === 'string' ? { address: value } : value),
  z.strictObject({
    address: z
      .string()
      .regex(
        ADDRESS,
        'must be tcp://host:port, ipc://path or inproc://name (or, to connect, tcp+dns://host:port or tcp+srv://_service._tcp.name)',
      ),
    bind: z.boolean().optional(),
  }),
);

const patternSchema = z.custom<MsPattern>(
  (value) => (typeof value === 'string' ? value.length > 0 : typeof value === 'number' || (typeof value === 'object' && value !== null)),
  'must be a non-empty string, a number or an object',
);

const positiveInt = z.number().int().positive();
const nonNegativeInt = z.number().int().nonnegative();

const serializerSchema = z.custom<{ serialize(value: unknown): unknown }>(
  (value) => typeof (value as { serialize?: unknown })?.serialize === 'function',
  'must have a serialize(value) method',
);
const deserializerSchema = z.custom<{ deserialize(value: unknown, options?: Record<string, unknown>): unknown }>(
  (value) => typeof (value as { deserialize?: unknown })?.deserialize === 'function',
  'must have a deserialize(value) method',
);

const tuningShape = {
  linger: nonNegativeInt.default(TUNING_DEFAULTS.linger),
  heartbeat: z
    .union([
      z.literal(false),
      z.strictObject({
        interval: positiveInt.default(TUNING_DEFAULTS.heartbeat.interval),
        timeout: positiveInt.default(TUNING_DEFAULTS.heartbeat.timeout),
      }),
    ])
    .default({ ...TUNING_DEFAULTS.heartbeat }),
  reconnectInterval: positiveInt.default(TUNING_DEFAULTS.reconnectInterval),
  reconnectMaxInterval: nonNegativeInt.default(TUNING_DEFAULTS.reconnectMaxInterval),
  logInterval: nonNegativeInt.default(TUNING_DEFAULTS.logInterval),
  discovery: discoveryOptionsSchema.optional(),
};

const kindSchema = z.enum(SOCKET_KIND_NAMES);
const deliverySchema = z.enum(['at-most-once', 'at-least-once']);

const outboxSchema = z.strictObject({
  path: z.string().min(1),
  durability: z.enum(['commit', 'flush']).default(CLIENT_DEFAULTS.outbox.durability),
  resolveOn: z.enum(['stored', 'acked']).default(CLIENT_DEFAULTS.outbox.resolveOn),
  maxBytes: positiveInt.default(CLIENT_DEFAULTS.outbox.maxBytes),
});

const routeShape = {
  name: z.string().min(1).optional(),
  kind: kindSchema.optional(),
  patterns: z.array(patternSchema).min(1, 'a route needs at least one pattern'),
  endpoints: z.array(endpointSchema).min(1, 'a route needs at least one endpoint'),
};

export const serverSchema = z.strictObject({
  ...tuningShape,
  endpoints: z.array(endpointSchema).default([]),
  kind: kindSchema.optional(),
  routes: z
    .array(
      z.strictObject({
        ...routeShape,
        concurrency: positiveInt.optional(),
        credit: positiveInt.optional(),
        receiveBudget: positiveInt.optional(),
      }),
    )
    .default([]),
  concurrency: positiveInt.default(SERVER_DEFAULTS.concurrency),
  // Derived from each socket's concurrency when not set (resolve-options.ts).
  credit: positiveInt.optional(),
  prefetch: positiveInt.default(SERVER_DEFAULTS.prefetch),
  maxMessageSize: z.number().int().min(-1).default(SERVER_DEFAULTS.maxMessageSize),
  maxPatternLength: positiveInt.default(SERVER_DEFAULTS.maxPatternLength),
  maxRecordsPerMessage: positiveInt.default(SERVER_DEFAULTS.maxRecordsPerMessage),
  receiveBudget: positiveInt.default(SERVER_DEFAULTS.receiveBudget),
  // Derived from each socket's receive budget and maxMessageSize when not set (resolve-options.ts).
  receiveHighWaterMark: nonNegativeInt.optional(),
  closeTimeout: nonNegativeInt.default(SERVER_DEFAULTS.closeTimeout),
  dedupeWindow: positiveInt.default(SERVER_DEFAULTS.dedupeWindow),
  ledger: z.strictObject({ path: z.string().min(1) }).optional(),
  plainMessages: z
    .strictObject({
      pattern: z.string().min(1),
      decoding: z.enum(['utf8', 'json', 'buffer']).default(SERVER_DEFAULTS.plainDecoding),
    })
    .optional(),
  serializer: serializerSchema.optional(),
  deserializer: deserializerSchema.optional(),
  curve: serverCurveSchema.optional(),
});

export const clientSchema = z.strictObject({
  ...tuningShape,
  endpoints: z.array(endpointSchema).default([]),
  kind: kindSchema.optional(),
  requestTimeout: nonNegativeInt.default(CLIENT_DEFAULTS.requestTimeout),
  routes: z
    .array(
      z.strictObject({ ...routeShape, bare: z.boolean().optional(), delivery: deliverySchema.optional(), outbox: outboxSchema.optional() }),
    )
    .default([]),
  delivery: deliverySchema.default(CLIENT_DEFAULTS.delivery),
  ackTimeout: positiveInt.default(CLIENT_DEFAULTS.ackTimeout),
  maxAttempts: positiveInt.max(9999).default(CLIENT_DEFAULTS.maxAttempts),
  retryDelay: nonNegativeInt.default(CLIENT_DEFAULTS.retryDelay),
  maxRetryDelay: nonNegativeInt.default(CLIENT_DEFAULTS.maxRetryDelay),
  deadLetterEndpoints: z.array(endpointSchema).default([]),
  outbox: outboxSchema.optional(),
  maxQueueSize: positiveInt.default(CLIENT_DEFAULTS.maxQueueSize),
  maxQueueBytes: positiveInt.default(CLIENT_DEFAULTS.maxQueueBytes),
  overflow: z.enum(['reject', 'drop-oldest']).default(CLIENT_DEFAULTS.overflow),
  sendTimeout: nonNegativeInt.default(CLIENT_DEFAULTS.sendTimeout),
  connectTimeout: nonNegativeInt.default(CLIENT_DEFAULTS.connectTimeout),
  immediate: z.boolean().default(CLIENT_DEFAULTS.immediate),
  maxBatchSize: positiveInt.default(CLIENT_DEFAULTS.maxBatchSize),
  maxBatchBytes: positiveInt.default(CLIENT_DEFAULTS.maxBatchBytes),
  // Derived from maxQueueBytes and maxBatchBytes when not set (resolve-options.ts).
  sendHighWaterMark: nonNegativeInt.optional(),
  maxMessageSize: z.number().int().min(-1).default(CLIENT_DEFAULTS.maxMessageSize),
  receiveBudget: positiveInt.default(CLIENT_DEFAULTS.receiveBudget),
  closeTimeout: nonNegativeInt.default(CLIENT_DEFAULTS.closeTimeout),
  serializer: serializerSchema.optional(),
  deserializer: deserializerSchema.optional(),
  curve: clientCurveSchema.optional(),
});

export type ParsedServerOptions = z.output<typeof serverSchema>;
export type ParsedClientOptions = z.output<typeof clientSchema>;
export type ParsedOutboxOptions = z.output<typeof outboxSchema>;

/**
 * Compile-time agreement of each schema with its public interface: the same option names, and
 * every value the interface allows is one the schema takes. An option added to one and not the
 * other fails the build here.
 */
type SameKeys<A, B> = [keyof A] extends [keyof B] ? ([keyof B] extends [keyof A] ? true : never) : never;
/** The options whose public type allows a value the schema's type does not. */
type Unaccepted<Schema, Options> = {
  [K in keyof Options & keyof Schema]-?: [Required<Options>[K]] extends [Required<Schema>[K]] ? never : K;
}[keyof Options & keyof Schema];
type Accepts<Schema, Options> = [Unaccepted<Schema, Options>] extends [never] ? true : never;
export const SCHEMAS_MATCH_OPTIONS: [
  SameKeys<z.input<typeof serverSchema>, ZeroMqServerOptions>,
  SameKeys<z.input<typeof clientSchema>, ZeroMqClientOptions>,
  Accepts<z.input<typeof serverSchema>, ZeroMqServerOptions>,
  Accepts<z.input<typeof clientSchema>, ZeroMqClientOptions>,
] = [true, true, true, true];
