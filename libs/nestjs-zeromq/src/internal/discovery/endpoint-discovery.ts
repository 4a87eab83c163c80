import { Logger, type LoggerService } from '@nestjs/common';
import { Resolver } from 'node:dns/promises';
import { z } from 'zod';
import { RateLimitedLog } from '../util/rate-limited-log.js';
import { ZeroMqOptionsError } from '../../zeromq.errors.js';
import { discoveryOptionsSchema, type ResolvedDiscoveryOptions } from '../options/discovery-options.schema.js';
import { parseDnsEndpoint, type DnsEndpoint } from '../options/dns-endpoint.js';
import type { EndpointDiscoveryOptions } from '../../discovery/endpoint-discovery.options.js';
import { resolveDnsEndpoint } from './resolve-dns-endpoint.js';

/** Told about every change of the resolved set; called after the set has changed. */
export interface EndpointDiscoveryListener {
  /** A new peer address, `tcp://ip:port`: connect to it. */
  onAdded(address: string): void;
  /** A peer address that DNS no longer lists: disconnect from it (and resend what it owed). */
  onRemoved(address: string): void;
}

/** Thrown into the failure path for an empty answer under `emptyAnswer: 'keep'`. */
class EmptyAnswerError extends Error {}

/**
 * Follows the peers a DNS name lists: resolves the name at start, again every `interval` (with
 * jitter) and on `refresh()` (call it when a peer disconnects), and tells the listener which
 * `tcp://ip:port` addresses appeared and disappeared. A failed resolution keeps the last good set,
 * is counted in `resolutionFailures` and logged at most once per `logInterval`. One resolution
 * runs at a time; `close()` stops everything and no callback comes after it.
 */
export class EndpointDiscovery {
  readonly endpoint: DnsEndpoint;
  private readonly options: ResolvedDiscoveryOptions;
  private readonly resolver: Resolver;
  private readonly logger: LoggerService;
  private readonly failureLog: RateLimitedLog;
  private current: string[] = [];
  private failures = 0;
  private failingSince: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private timerDueAt = Infinity;
  private resolving = false;
  private lastFinishedAt = -Infinity;
  /** Callers of start()/refresh() waiting for the next resolution to finish. */
  private waiting: Array<() => void> = [];
  private started = false;
  private closed = false;

  constructor(
    endpoint: string | DnsEndpoint,
    private readonly listener: EndpointDiscoveryListener,
    options: EndpointDiscoveryOptions = {},
  ) {
    this.endpoint = typeof endpoint === 'string' ? parseDnsEndpoint(endpoint) : endpoint;
    const parsed = discoveryOptionsSchema.safeParse(options);
    if (!parsed.success) {
      throw new ZeroMqOptionsError(`Invalid discovery options for ${this.endpoint.endpoint}: ${z.prettifyError(parsed.error)}`);
    }
    this.options = parsed.data;
    this.logger = this.options.logger ?? new Logger('ZeroMqDiscovery');
    this.failureLog = new RateLimitedLog(this.logger, this.options.logInterval);
    this.resolver = new Resolver({ timeout: this.options.queryTimeout, tries: this.options.queryTries });
    if (this.options.servers !== undefined) {
      try {
        this.resolver.setServers(this.options.servers);
      } catch (error) {
        throw new ZeroMqOptionsError(`Invalid discovery servers ${JSON.stringify(this.options.servers)}: ${(error as Error).message}`);
      }
    }
  }

  /** The addresses of the last good resolution, sorted. */
  get addresses(): readonly string[] {
    return this.current;
  }

  /** Resolutions that failed (or, under `emptyAnswer: 'keep'`, listed no address) since the start. */
  get resolutionFailures(): number {
    return this.failures;
  }

  /**
   * Resolves the name for the first time and then keeps following it. Resolves once the first
   * resolution has finished, whether it found peers or failed (the next ones may do better);
   * `addresses` tells what it found.
   */
  start(): Promise<void> {
    if (this.started) {
      return this.refresh();
    }
    this.started = true;
    return this.nextResolution(Date.now());
  }

  /**
   * Resolves again soon: now, or `minRefreshInterval` after the last resolution ended. Calls made
   * while one is due or running share the next resolution. Resolves when it has finished.
   */
  refresh(): Promise<void> {
    if (this.resolving) {
      // The running lookup may predate the change that prompted this call: wait for the next one.
      return new Promise((resolve) => this.waiting.push(resolve));
    }
    return this.nextResolution(this.lastFinishedAt + this.options.minRefreshInterval);
  }

  /** Stops resolving; a lookup in progress is cancelled and its answer ignored. Idempotent. */
  close(): void {
    if (this.closed) {
      return;
    }
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.resolver.cancel();
    this.releaseWaiting();
  }

  private nextResolution(at: number): Promise<void> {
    if (this.closed) {
      return Promise.resolve();
    }
    const finished = new Promise<void>((resolve) => this.waiting.push(resolve));
    this.scheduleAt(at);
    return finished;
  }

  /** Sets the timer for the next resolution, unless one is already due sooner. */
  private scheduleAt(at: number): void {
    if (this.closed || at >= this.timerDueAt) {
      return;
    }
    clearTimeout(this.timer);
    this.timerDueAt = at;
    this.timer = setTimeout(() => void this.resolve(), Math.max(0, at - Date.now()));
    // The sockets keep the process alive, not their discovery; but a caller awaiting start() or
    // refresh() does (a client whose every peer comes from DNS has no socket before the first answer).
    if (this.waiting.length === 0) {
      this.timer.unref();
    }
  }

  private async resolve(): Promise<void> {
    this.timer = undefined;
    this.timerDueAt = Infinity;
    this.resolving = true;
    const waiting = this.waiting;
    this.waiting = [];
    try {
      const addresses = await resolveDnsEndpoint(this.resolver, this.endpoint);
      if (addresses.length === 0 && this.options.emptyAnswer === 'keep') {
        throw new EmptyAnswerError('the name lists no address');
      }
      if (!this.closed) {
        this.apply(addresses);
      }
    } catch (error) {
      if (!this.closed) {
        this.recordFailure(error as Error);
      }
    } finally {
      this.resolving = false;
      this.lastFinishedAt = Date.now();
      for (const resolve of waiting) {
        resolve();
      }
      if (this.waiting.length > 0) {
        this.scheduleAt(this.lastFinishedAt + this.options.minRefreshInterval);
      } else {
        this.scheduleAt(this.lastFinishedAt + this.jittered(this.options.interval));
      }
    }
  }

  private apply(addresses: string[]): void {
    if (this.failingSince !== undefined) {
      this.logger.log(`${this.endpoint.endpoint} resolves again, after ${this.failures - this.failingSince} failed resolution(s)`);
      this.failingSince = undefined;
    }
    const before = new Set(this.current);
    const now = new Set(addresses);
    const added = addresses.filter((address) => !before.has(address));
    const removed = this.current.filter((address) => !now.has(address));
    this.current = addresses;
    if (added.length + removed.length === 0) {
      return;
    }
    this.logger.log(
      `${this.endpoint.endpoint}: ${[...added.map((a) => `+${a}`), ...removed.map((a) => `-${a}`)].join(' ')} (${addresses.length} peer(s))`,
    );
    // New peers first: during a rolling update the replacement is connected before the old one goes.
    for (const address of added) {
      this.tell('onAdded', address);
    }
    for (const address of removed) {
      this.tell('onRemoved', address);
    }
  }

  private tell(callback: keyof EndpointDiscoveryListener, address: string): void {
    try {
      this.listener[callback](address);
    } catch (error) {
      this.failureLog.error(callback, `${this.endpoint.endpoint}: ${callback}(${address}) threw: ${(error as Error).message}`);
    }
  }

  private recordFailure(error: Error): void {
    this.failures++;
    this.failingSince ??= this.failures - 1;
    const reason = error instanceof EmptyAnswerError ? error.message : ((error as NodeJS.ErrnoException).code ?? error.message);
    this.failureLog.warn(
      'resolution',
      `${this.endpoint.endpoint} could not be resolved (${reason}); keeping the last ${this.current.length} address(es); ` +
        `${this.failures} failed resolution(s) so far`,
    );
  }

  private jittered(ms: number): number {
    return Math.round(ms * (1 + this.options.jitter * (2 * Math.random() - 1)));
  }

  private releaseWaiting(): void {
    const waiting = this.waiting;
    this.waiting = [];
    for (const resolve of waiting) {
      resolve();
    }
  }
}
