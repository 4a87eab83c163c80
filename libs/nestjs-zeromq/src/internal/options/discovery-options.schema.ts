import type { LoggerService } from '@nestjs/common';
import { z } from 'zod';
import { DISCOVERY_DEFAULTS } from './defaults.js';

const loggerSchema = z.custom<LoggerService>(
  (value) => typeof (value as { log?: unknown } | null)?.log === 'function',
  'must be a Nest LoggerService (with log, warn and error methods)',
);

/**
 * EndpointDiscoveryOptions checked, with their defaults applied: what an EndpointDiscovery and
 * the `discovery` option of a server or client take (strict, so that a misspelt option is refused).
 */
export const discoveryOptionsSchema = z.strictObject({
  servers: z.array(z.string().min(1)).min(1).optional(),
  interval: z.number().int().positive().default(DISCOVERY_DEFAULTS.interval),
  jitter: z.number().min(0).max(0.5).default(DISCOVERY_DEFAULTS.jitter),
  minRefreshInterval: z.number().int().nonnegative().default(DISCOVERY_DEFAULTS.minRefreshInterval),
  queryTimeout: z.number().int().positive().default(DISCOVERY_DEFAULTS.queryTimeout),
  queryTries: z.number().int().positive().default(DISCOVERY_DEFAULTS.queryTries),
  emptyAnswer: z.enum(['keep', 'apply']).default(DISCOVERY_DEFAULTS.emptyAnswer),
  logInterval: z.number().int().nonnegative().default(DISCOVERY_DEFAULTS.logInterval),
  logger: loggerSchema.optional(),
});

export type ResolvedDiscoveryOptions = z.output<typeof discoveryOptionsSchema>;
