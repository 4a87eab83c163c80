import { hostname } from 'node:os';
import { z } from 'zod';
import { addressListSchema, curveKeyListSchema, loggingEnvShape, pathListSchema } from '../../../common/src/env.js';

/**
 * The worker's environment, checked at start by ConfigModule: a bad or missing variable stops
 * the worker with a message naming it.
 */
export const workerEnvSchema = z.object({
  /** Name in logs and summaries. */
  WORKER_NAME: z.string().trim().min(1).default(`worker-${hostname()}-${process.pid}`),
  /** Addresses of the orders socket (every pattern without a route of its own). */
  WORKER_ENDPOINTS: addressListSchema,
  /** Addresses of the socket for plain-text tasks from non-Nest ZeroMQ producers; optional. */
  WORKER_TASKS_ENDPOINTS: addressListSchema.optional(),
  /** Producers' broadcast addresses to subscribe to (price changes; always connected to); optional. */
  WORKER_BROADCAST_ENDPOINTS: addressListSchema.optional(),
  /** Bind the addresses (producers connect) or connect to them (producers bind). */
  WORKER_BIND: z.stringbool().default(true),
  /**
   * The orders socket: `push-pull` (PULL, at-most-once producers) or `dealer-router` (ROUTER: also
   * at-least-once producers, which it acks and tells its credit, and "credit 0" when it stops).
   */
  WORKER_KIND: z.enum(['push-pull', 'dealer-router']).default('push-pull'),
  /** Jobs handled at once per socket. */
  WORKER_CONCURRENCY: z.coerce.number().int().positive().default(8),
  /** File with the worker's CURVE secret key (`npx nestjs-zeromq keygen`): turns CURVE on for every socket. */
  WORKER_CURVE_SECRET_KEY_FILE: z.string().min(1).optional(),
  /** Producers' CURVE public keys allowed in, comma-separated (with the files below; none set: any producer with the worker's public key). */
  WORKER_CURVE_ALLOW_CLIENT_KEYS: curveKeyListSchema.optional(),
  /** Files holding allowed producers' public keys (`.pub`), comma-separated. */
  WORKER_CURVE_ALLOW_CLIENT_KEY_FILES: pathListSchema.optional(),
  /** HTTP port for `/health` and `/metrics` (a hybrid app); `0` lets the OS choose; unset: no HTTP. */
  WORKER_HTTP_PORT: z.coerce.number().int().min(0).max(65_535).optional(),
  /** HTTP interface for WORKER_HTTP_PORT; `0.0.0.0` for probes and scrapes from other hosts. */
  WORKER_HTTP_HOST: z.string().trim().min(1).default('127.0.0.1'),
  /** PBKDF2 rounds per job: the CPU cost of one job. */
  WORKER_HASH_ITERATIONS: z.coerce.number().int().positive().default(1_000),
  ...loggingEnvShape,
});

export type WorkerEnv = z.output<typeof workerEnvSchema>;
