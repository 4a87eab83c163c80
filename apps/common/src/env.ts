import { ConsoleLogger } from '@nestjs/common';
import { z } from 'zod';

/** Nest log levels, most severe first. */
const LOG_LEVELS = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'] as const;

/**
 * A comma-separated list of ZeroMQ addresses in an environment variable, for example
 * `tcp://127.0.0.1:5557,ipc:///run/orders.sock`; a connecting socket may also name its peers
 * through DNS (`tcp+dns://host:port`, `tcp+srv://_service._tcp.name`).
 */
export const addressListSchema = z
  .string()
  .transform((value) =>
    value
      .split(',')
      .map((address) => address.trim())
      .filter((address) => address.length > 0),
  )
  .pipe(
    z
      .array(
        z
          .string()
          .regex(
            /^(tcp|ipc|inproc|tcp\+dns|tcp\+srv):\/\/\S+$/,
            'must be tcp://host:port, ipc://path or inproc://name (or, to connect, tcp+dns://host:port or tcp+srv://_service._tcp.name)',
          ),
      )
      .min(1, 'must list at least one address'),
  );

/** A comma-separated list in an environment variable (empty items dropped). */
const commaList = (item: z.ZodString) =>
  z
    .string()
    .transform((value) =>
      value
        .split(',')
        .map((entry) => entry.trim())
        .filter((entry) => entry.length > 0),
    )
    .pipe(z.array(item));

/** Addresses of DNS servers (`ip` or `ip:port`), comma-separated. */
export const dnsServerListSchema = commaList(z.string().min(1));

/** CURVE public keys as `npx nestjs-zeromq keygen` writes them (40 characters of Z85), comma-separated. */
export const curveKeyListSchema = commaList(z.string().length(40, 'must be a 40-character Z85 CURVE key'));

/** Paths of key files, comma-separated. */
export const pathListSchema = commaList(z.string().min(1));

/** The logging variables both apps read. */
export const loggingEnvShape = {
  /** Most detailed level printed: `debug` adds a line per job. */
  LOG_LEVEL: z.enum(LOG_LEVELS).default('log'),
  /** `text` for people, `json` (one object per line) for log collectors. */
  LOG_FORMAT: z.enum(['text', 'json']).default('text'),
};

export type LoggingEnv = { [K in keyof typeof loggingEnvShape]: z.output<(typeof loggingEnvShape)[K]> };

/** The app's logger, prefixed with the app's name instead of "Nest". */
export function createLogger(prefix: string, env: LoggingEnv): ConsoleLogger {
  return new ConsoleLogger({
    prefix,
    json: env.LOG_FORMAT === 'json',
    logLevels: LOG_LEVELS.slice(0, LOG_LEVELS.indexOf(env.LOG_LEVEL) + 1),
  });
}

/** `default socket on tcp://127.0.0.1:5557, tasks socket on ipc:///run/tasks.sock`, for ready lines. */
export function describeSockets(addresses: Record<string, string[]>): string {
  return Object.entries(addresses)
    .map(([name, list]) => `${name} socket on ${list.join(' and ')}`)
    .join(', ');
}
