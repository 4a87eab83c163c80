import { Controller, Get } from '@nestjs/common';
import { HealthCheck, HealthCheckService, type HealthCheckResult } from '@nestjs/terminus';
import { ZeroMqServer } from 'nestjs-zeromq';
import { ZeroMqHealthIndicator } from 'nestjs-zeromq/terminus';

/**
 * Health checks on the worker's HTTP port (WORKER_HTTP_PORT): `/health/live` while the process
 * answers, `/health` (and `/health/ready`) while the server is open and every socket reads.
 * A worker without producers is idle, not unhealthy: connections are shown, not required.
 */
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly zeromq: ZeroMqHealthIndicator,
    private readonly server: ZeroMqServer,
  ) {}

  @Get('live')
  @HealthCheck()
  live(): Promise<HealthCheckResult> {
    return this.health.check([]);
  }

  @Get(['', 'ready'])
  @HealthCheck()
  ready(): Promise<HealthCheckResult> {
    return this.health.check([() => this.zeromq.check('zeromq', this.server)]);
  }
}
