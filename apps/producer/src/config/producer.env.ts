import { z } from 'zod';
import { addressListSchema, loggingEnvShape } from '../../../common/src/env.js';

/**
 * The producer's environment, checked at start by ConfigModule: a bad or missing variable stops
 * the producer with a message naming it.
 */
export const producerEnvSchema = z.object({
  /** HTTP interface; `0.0.0.0` to accept requests from other hosts. */
  PRODUCER_HOST: z.string().trim().min(1).default('127.0.0.1'),
  /** HTTP port; `0` lets the OS choose (the ready line tells which). */
  PRODUCER_PORT: z.coerce.number().int().min(0).max(65_535).default(3000),
  /** Where `orders.created` goes: the workers' addresses (or the producer's own, with PRODUCER_BIND). */
  PRODUCER_ENDPOINTS: addressListSchema,
  /** Bind the addresses (workers connect) instead of connecting to them (workers bind). */
  PRODUCER_BIND: z.stringbool().default(false),
  /** Plain ZeroMQ PULL consumers that get each order as bare JSON; optional. */
  PRODUCER_EXPORT_ENDPOINTS: addressListSchema.optional(),
  /** Milliseconds an order may wait for a worker to take it before POST /orders answers 503. */
  PRODUCER_SEND_TIMEOUT: z.coerce.number().int().positive().default(5_000),
  ...loggingEnvShape,
});

export type ProducerEnv = z.output<typeof producerEnvSchema>;
