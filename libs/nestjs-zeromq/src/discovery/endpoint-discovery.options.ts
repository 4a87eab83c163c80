import type { LoggerService } from '@nestjs/common';

/** How an EndpointDiscovery asks DNS, how often, and what it does with a bad answer. */
export interface EndpointDiscoveryOptions {
  /**
   * DNS servers to ask, as `ip` or `ip:port` (`[ipv6]:port`). Names are looked up as written
   * (no search domains): use fully qualified names such as `workers.ns.svc.cluster.local`.
   * @default the system's servers (/etc/resolv.conf)
   */
  servers?: string[];
  /**
   * Milliseconds between two resolutions of the name.
   * @default 5000
   */
  interval?: number;
  /**
   * Fraction of `interval` added or taken away at random for each wait, so that many clients
   * started together do not ask DNS in step (0 to 0.5).
   * @default 0.2
   */
  jitter?: number;
  /**
   * Shortest milliseconds between the end of one resolution and a `refresh()` one: a burst of
   * peer disconnects makes one lookup, not one each.
   * @default 1000
   */
  minRefreshInterval?: number;
  /**
   * Milliseconds one DNS query may take before it is retried (then counted as failed).
   * @default 2000
   */
  queryTimeout?: number;
  /**
   * Times each DNS query is sent before it counts as failed.
   * @default 2
   */
  queryTries?: number;
  /**
   * What an answer with no address means: `'keep'` treats it as a failure and keeps the last set
   * (a DNS server that briefly answers "none" does not disconnect every peer); `'apply'` removes
   * every peer (when scaling to zero must disconnect).
   * @default 'keep'
   */
  emptyAnswer?: 'keep' | 'apply';
  /**
   * Milliseconds between two log lines about failed resolutions of one name (the others are
   * counted in the next line and in `resolutionFailures`).
   * @default 10000
   */
  logInterval?: number;
  /**
   * Where changes and failures are logged.
   * @default new Logger('ZeroMqDiscovery')
   */
  logger?: LoggerService;
}
