import { z } from 'zod';
import { addressListSchema, dnsServerListSchema, loggingEnvShape } from '../../../common/src/env.js';

/**
 * The producer's environment, checked at start by ConfigModule: a bad or missing variable stops
 * the producer with a message naming it.
 */
export const producerEnvSchema = z
  .object({
    /** HTTP interface; `0.0.0.0` to accept requests from other hosts. */
    PRODUCER_HOST: z.string().trim().min(1).default('127.0.0.1'),
    /** HTTP port; `0` lets the OS choose (the ready line tells which). */
    PRODUCER_PORT: z.coerce.number().int().min(0).max(65_535).default(3000),
    /** Where `orders.created` goes: the workers' addresses (or the producer's own, with PRODUCER_BIND). */
    PRODUCER_ENDPOINTS: addressListSchema,
    /** Bind the addresses (workers connect) instead of connecting to them (workers bind). */
    PRODUCER_BIND: z.stringbool().default(false),
    /** Addresses the producer's broadcast (PUB) socket binds for `POST /prices`; workers subscribe there (WORKER_BROADCAST_ENDPOINTS). Optional. */
    PRODUCER_BROADCAST_ENDPOINTS: addressListSchema.optional(),
    /**
     * `at-least-once`: an order counts as placed once a worker has handled it, and is sent again if
     * its worker goes first (the workers need WORKER_KIND=dealer-router). `at-most-once`: once ZeroMQ took it.
     */
    PRODUCER_DELIVERY: z.enum(['at-most-once', 'at-least-once']).default('at-most-once'),
    /**
     * Directory of a durable outbox (needs PRODUCER_DELIVERY=at-least-once): an order is accepted
     * (202) once it is stored there, and sent again after a crash or restart until a worker has
     * handled it. One producer process per directory.
     */
    PRODUCER_OUTBOX_PATH: z.string().trim().min(1).optional(),
    /** `commit` (an accepted order survives a crash of the process) or `flush` (of the machine); default `commit`. */
    PRODUCER_OUTBOX_DURABILITY: z.enum(['commit', 'flush']).optional(),
    /** Bytes the outbox may hold before orders are refused (503, OUTBOX_FULL); default 1 GiB. Leave room on the volume. */
    PRODUCER_OUTBOX_MAX_BYTES: z.coerce.number().int().positive().optional(),
    /** DNS servers for tcp+dns:// and tcp+srv:// endpoints, comma-separated; unset: the system's. */
    PRODUCER_DISCOVERY_SERVERS: dnsServerListSchema.optional(),
    /** Milliseconds between two resolutions of a tcp+dns:// or tcp+srv:// endpoint (default 5000). */
    PRODUCER_DISCOVERY_INTERVAL: z.coerce.number().int().positive().optional(),
    /** Plain ZeroMQ PULL consumers that get each order as bare JSON; optional. */
    PRODUCER_EXPORT_ENDPOINTS: addressListSchema.optional(),
    /** Milliseconds an order may wait for a worker to take it before POST /orders answers 503. */
    PRODUCER_SEND_TIMEOUT: z.coerce.number().int().positive().default(5_000),
    /** File with the producer's CURVE secret key: turns CURVE on (the workers must run CURVE too). */
    PRODUCER_CURVE_SECRET_KEY_FILE: z.string().min(1).optional(),
    /** The workers' CURVE public key (40 characters of Z85), or ... */
    PRODUCER_CURVE_SERVER_PUBLIC_KEY: z.string().length(40, 'must be a 40-character Z85 CURVE key').optional(),
    /** ... a file holding it (`worker.pub`). */
    PRODUCER_CURVE_SERVER_PUBLIC_KEY_FILE: z.string().min(1).optional(),
    ...loggingEnvShape,
  })
  .superRefine((env, context) => {
    if (env.PRODUCER_OUTBOX_PATH !== undefined && env.PRODUCER_DELIVERY !== 'at-least-once') {
      context.addIssue({
        code: 'custom',
        path: ['PRODUCER_OUTBOX_PATH'],
        message: 'needs PRODUCER_DELIVERY=at-least-once (the outbox keeps each order until a worker has handled it)',
      });
    }
    const outboxSettings = [env.PRODUCER_OUTBOX_DURABILITY, env.PRODUCER_OUTBOX_MAX_BYTES].some((value) => value !== undefined);
    if (outboxSettings && env.PRODUCER_OUTBOX_PATH === undefined) {
      context.addIssue({
        code: 'custom',
        path: ['PRODUCER_OUTBOX_PATH'],
        message: 'PRODUCER_OUTBOX_DURABILITY and PRODUCER_OUTBOX_MAX_BYTES need PRODUCER_OUTBOX_PATH',
      });
    }
    const serverKeys = [env.PRODUCER_CURVE_SERVER_PUBLIC_KEY, env.PRODUCER_CURVE_SERVER_PUBLIC_KEY_FILE].filter((key) => key !== undefined);
    if (env.PRODUCER_CURVE_SECRET_KEY_FILE !== undefined && serverKeys.length !== 1) {
      context.addIssue({
        code: 'custom',
        path: ['PRODUCER_CURVE_SERVER_PUBLIC_KEY'],
        message:
          'with PRODUCER_CURVE_SECRET_KEY_FILE set exactly one of PRODUCER_CURVE_SERVER_PUBLIC_KEY and PRODUCER_CURVE_SERVER_PUBLIC_KEY_FILE is needed',
      });
    }
  });

export type ProducerEnv = z.output<typeof producerEnvSchema>;
