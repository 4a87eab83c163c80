import { Controller, Get } from '@nestjs/common';
import {
  HealthCheck,
  HealthCheckService,
  HealthIndicatorService,
  type HealthCheckResult,
  type HealthIndicatorResult,
} from '@nestjs/terminus';
import { ZeroMqServer } from 'nestjs-zeromq';
import { ZeroMqHealthIndicator } from 'nestjs-zeromq/terminus';
import { WorkerLifecycle } from '../lifecycle/worker-lifecycle.service.js';

/**
 * Health checks on the worker's HTTP port (WORKER_HTTP_PORT): `/health/live` while the process
 * answers, `/health` (and `/health/ready`) while the server is open, every socket reads and the
 * worker is not draining (from SIGTERM on it is not ready, while it finishes its jobs).
 * A worker without producers is idle, not unhealthy: connections are shown, not required.
 */
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly zeromq: ZeroMqHealthIndicator,
    private readonly server: ZeroMqServer,
    private readonly indicators: HealthIndicatorService,
    private readonly lifecycle: WorkerLifecycle,
  ) {}

  @Get('live')
  @HealthCheck()
  live(): Promise<HealthCheckResult> {
    return this.health.check([]);
  }

  @Get(['', 'ready'])
  @HealthCheck()
  ready(): Promise<HealthCheckResult> {
    return this.health.check([() => this.zeromq.check('zeromq', this.server), () => this.takingWork()]);
  }

  private takingWork(): HealthIndicatorResult<'worker'> {
    const indicator = this.indicators.check('worker');
    return this.lifecycle.draining
      ? indicator.down({ message: 'draining: stopped taking jobs, finishing those in flight' })
      : indicator.up();
  }
}
