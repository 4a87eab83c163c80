import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  type OnModuleDestroy,
  type OnModuleInit,
} from '@nestjs/common';
import { ZeroMqStatus, type ZeroMqClient, type ZeroMqClientMetrics } from 'nestjs-zeromq';
import type { Subscription } from 'rxjs';
import { ORDERS_CLIENT } from '../orders/orders-client.js';

/** The client's status and counters; `connections` has the live peers per socket (`default`: workers, `export`: plain consumers). */
export interface ClientHealth extends ZeroMqClientMetrics {
  status: ZeroMqStatus;
}

/**
 * Follows the orders client for `/health`: its status, its counters and how many peers each
 * socket has. Logs a summary at shutdown, after ClientsModule has closed the client (queued
 * orders sent first).
 */
@Injectable()
export class ClientConnections implements OnModuleInit, OnApplicationBootstrap, OnModuleDestroy, OnApplicationShutdown {
  private status = ZeroMqStatus.CONNECTING;
  private statusSubscription: Subscription | undefined;
  private readonly logger = new Logger('Producer');

  constructor(@Inject(ORDERS_CLIENT) private readonly client: ZeroMqClient) {}

  onModuleInit(): void {
    this.statusSubscription = this.client.status.subscribe((status) => (this.status = status));
  }

  /** Opens the sockets at start: connections show before the first order, and a bind error stops the app. */
  async onApplicationBootstrap(): Promise<void> {
    await this.client.connect();
  }

  onModuleDestroy(): void {
    this.statusSubscription?.unsubscribe();
  }

  onApplicationShutdown(signal?: string): void {
    const { sent, failed } = this.client.getMetrics();
    this.logger.log(`Stopped after ${signal ?? 'close()'}: sent ${sent} order event(s), failed ${failed}`);
  }

  health(): ClientHealth {
    return { status: this.status, ...this.client.getMetrics() };
  }
}
