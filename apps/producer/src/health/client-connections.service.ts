import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import type { ZeroMqClient } from 'nestjs-zeromq';
import { registerZeroMqClientMetrics } from 'nestjs-zeromq/prometheus';
import type { Registry } from 'prom-client';
import { METRICS_REGISTRY } from '../../../common/src/observability/metrics-registry.js';
import { ORDER_CREATED } from '../../../common/src/orders.contract.js';
import { ORDER_EXPORT, ORDERS_CLIENT } from '../orders/orders-client.js';

/**
 * Looks after the orders client beside the HTTP API: registers its metrics before the first
 * order, opens its sockets at start, and logs a summary at shutdown, after ClientsModule has
 * closed the client (queued orders sent first).
 */
@Injectable()
export class ClientConnections implements OnModuleInit, OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Producer');

  constructor(
    @Inject(ORDERS_CLIENT) private readonly client: ZeroMqClient,
    @Inject(METRICS_REGISTRY) private readonly registry: Registry,
  ) {}

  onModuleInit(): void {
    registerZeroMqClientMetrics(this.client, { registry: this.registry, name: 'orders', patterns: [ORDER_CREATED, ORDER_EXPORT] });
  }

  /** Opens the sockets at start: connections show before the first order, and a bind error stops the app. */
  async onApplicationBootstrap(): Promise<void> {
    await this.client.connect();
  }

  onApplicationShutdown(signal?: string): void {
    const { sent, failed } = this.client.getMetrics();
    this.logger.log(`Stopped after ${signal ?? 'close()'}: sent ${sent} order event(s), failed ${failed}`);
  }
}
