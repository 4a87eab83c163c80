import { Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import type { ZeroMqClient } from '../zeromq.client.js';
import type { ZeroMqServer } from '../zeromq.server.js';
import { assessZeroMqHealth, connectIfNotStarted, type ZeroMqHealthOptions } from './zeromq-health.assessment.js';

/**
 * Terminus health indicator for a ZeroMqServer or ZeroMqClient: up while it is open, its sockets
 * read (servers), have peers (`requireConnected`) and their send queues are not full (clients).
 * The result shows the status and, per socket, connections, handlers in flight or queue depth.
 * A client nobody connected yet (Nest connects on the first emit) is connected by the check.
 *
 * ```ts
 * @Get('ready') @HealthCheck()
 * ready() {
 *   return this.health.check([() => this.zeromq.check('orders', this.ordersClient)]);
 * }
 * ```
 * @publicApi
 */
@Injectable()
export class ZeroMqHealthIndicator {
  constructor(private readonly healthIndicatorService: HealthIndicatorService) {}

  async check<const Key extends string>(
    key: Key,
    target: ZeroMqServer | ZeroMqClient,
    options?: ZeroMqHealthOptions,
  ): Promise<HealthIndicatorResult<Key>> {
    await connectIfNotStarted(target);
    const indicator = this.healthIndicatorService.check(key);
    const { status, sockets, problems } = assessZeroMqHealth(target, options);
    return problems.length === 0
      ? indicator.up({ state: status, sockets })
      : indicator.down({ state: status, sockets, message: problems.join('; ') });
  }
}
