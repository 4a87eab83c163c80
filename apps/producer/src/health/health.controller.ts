import { Controller, Get, Inject } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { HealthCheck, HealthCheckService, type HealthCheckResult } from '@nestjs/terminus';
import type { ZeroMqClient } from 'nestjs-zeromq';
import { ZeroMqHealthIndicator } from 'nestjs-zeromq/terminus';
import type { ProducerEnv } from '../config/producer.env.js';
import { ORDERS_CLIENT } from '../orders/orders-client.js';

/**
 * Health checks for an orchestrator: `/health/live` while the process answers, `/health` (and
 * `/health/ready`) while orders can go out: the client is open, at least one worker is connected
 * on the orders socket and its send queue is not full. With a durable outbox (PRODUCER_OUTBOX_PATH)
 * orders are accepted while no worker is there (they wait on disk): ready while the outbox is not
 * full. 503 with the reasons otherwise; the details show the outbox.
 */
@Controller('health')
export class HealthController {
  private readonly requireConnected: boolean;

  constructor(
    private readonly health: HealthCheckService,
    private readonly zeromq: ZeroMqHealthIndicator,
    @Inject(ORDERS_CLIENT) private readonly client: ZeroMqClient,
    config: ConfigService<ProducerEnv, true>,
  ) {
    this.requireConnected = config.get('PRODUCER_OUTBOX_PATH', { infer: true }) === undefined;
  }

  @Get('live')
  @HealthCheck()
  live(): Promise<HealthCheckResult> {
    return this.health.check([]);
  }

  @Get(['', 'ready'])
  @HealthCheck()
  ready(): Promise<HealthCheckResult> {
    // Plain export consumers ('export' socket) are optional: only the workers make the producer ready.
    const options = { sockets: ['default'], requireConnected: this.requireConnected };
    return this.health.check([() => this.zeromq.check('orders', this.client, options)]);
  }
}
