import { Controller, Get, Inject } from '@nestjs/common';
import { HealthCheck, HealthCheckService, type HealthCheckResult } from '@nestjs/terminus';
import type { ZeroMqClient } from 'nestjs-zeromq';
import { ZeroMqHealthIndicator } from 'nestjs-zeromq/terminus';
import { ORDERS_CLIENT } from '../orders/orders-client.js';

/**
 * Health checks for an orchestrator: `/health/live` while the process answers, `/health` (and
 * `/health/ready`) while orders can go out: the client is open, at least one worker is connected
 * on the orders socket and its send queue is not full. 503 with the reasons otherwise.
 */
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly zeromq: ZeroMqHealthIndicator,
    @Inject(ORDERS_CLIENT) private readonly client: ZeroMqClient,
  ) {}

  @Get('live')
  @HealthCheck()
  live(): Promise<HealthCheckResult> {
    return this.health.check([]);
  }

  @Get(['', 'ready'])
  @HealthCheck()
  ready(): Promise<HealthCheckResult> {
    // Plain export consumers ('export' socket) are optional: only the workers make the producer ready.
    return this.health.check([() => this.zeromq.check('orders', this.client, { sockets: ['default'] })]);
  }
}
