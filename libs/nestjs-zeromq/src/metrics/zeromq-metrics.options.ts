import type { Registry } from 'prom-client';

/** Options of `registerZeroMqServerMetrics` and `registerZeroMqClientMetrics`. */
export interface ZeroMqMetricsOptions {
  /**
   * The registry the metrics are registered on (your `/metrics` endpoint serves it).
   * @default prom-client's global `register`
   */
  registry?: Registry;
  /**
   * Value of the `server` / `client` label, to tell several servers or clients on one registry apart.
   * @default 'default'
   */
  name?: string;
  /**
   * Patterns that get a `pattern` label of their own.
   * @default a server's handler patterns; none for a client
   */
  patterns?: readonly string[];
  /**
   * How many patterns beyond `patterns` get a label of their own, first come first served; the
   * rest are labelled `other`, so the number of series stays bounded whatever peers send.
   * @default 0 for a server, 50 for a client
   */
  learnPatterns?: number;
  /**
   * Histogram buckets, in seconds.
   * @default [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
   */
  buckets?: number[];
}

export const DEFAULT_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Every metric name starts with this. */
export const METRIC_PREFIX = 'nestjs_zeromq_';

/**
 * Metadata key under which a client with `stampSendTime` puts the time of each emit (milliseconds
 * since the epoch, decimal text); a server with metrics observes emit-to-handler latency from it.
 */
export const SENT_AT_METADATA_KEY = 'zeromq-sent-at';
