import { Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationShutdown } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ZeroMqServer } from 'nestjs-zeromq';
import { describeSockets } from '../../../common/src/env.js';
import type { WorkerEnv } from '../config/worker.env.js';
import { WorkStats } from '../work/work-stats.service.js';

/**
 * Says when the worker is ready and, at shutdown, how many jobs were still running and what it
 * did in all. On SIGTERM, `beforeApplicationShutdown` marks the worker as draining (readiness
 * turns false) and closes the ZeroMQ server itself: it stops taking jobs (at-least-once producers
 * are told "credit 0"), lets running ones finish within closeTimeout, and all that while `/health`
 * still answers (Nest closes the HTTP server before the microservice, and closing twice is one
 * close). `onApplicationShutdown` comes after.
 */
@Injectable()
export class WorkerLifecycle implements BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly logger = new Logger('Worker');
  private readonly startedAt = Date.now();
  /** True from the shutdown signal on: not ready for new work. */
  draining = false;

  constructor(
    private readonly server: ZeroMqServer,
    private readonly stats: WorkStats,
    private readonly config: ConfigService<WorkerEnv, true>,
  ) {}

  /** Logs the ready line with the actual addresses (an OS-chosen port filled in), and the HTTP address if any. */
  reportReady(httpUrl?: string): void {
    const sockets = describeSockets(this.server.getAddresses());
    const mode = this.config.get('WORKER_BIND', { infer: true }) ? 'bound' : 'connected';
    const http = httpUrl === undefined ? '' : `; HTTP on ${httpUrl}`;
    this.logger.log(`Ready: ${sockets} (${mode}); concurrency ${this.config.get('WORKER_CONCURRENCY', { infer: true })}${http}`);
  }

  async beforeApplicationShutdown(signal?: string): Promise<void> {
    this.draining = true;
    const { inFlight } = this.server.getMetrics();
    this.logger.log(`${signal ?? 'Shutdown'}: no new jobs; waiting for ${inFlight} job(s) in flight`);
    await this.server.close();
  }

  onApplicationShutdown(signal?: string): void {
    const metrics = this.server.getMetrics();
    const seconds = ((Date.now() - this.startedAt) / 1000).toFixed(1);
    this.logger.log(
      `Stopped after ${signal ?? 'close()'}, up ${seconds} s: received ${metrics.received}, handled ${metrics.handled} ` +
        `(${this.stats.describe()}), failed ${metrics.failed}, dropped on close ${metrics.droppedOnClose}`,
    );
  }
}
