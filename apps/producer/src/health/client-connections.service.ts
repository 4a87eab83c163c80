import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  type OnModuleDestroy,
  type OnModuleInit,
} from '@nestjs/common';
import { ZeroMqStatus, type ZeroMqClient, type ZeroMqClientMetrics, type ZeroMqSocketEvent } from 'nestjs-zeromq';
import type { Subscription } from 'rxjs';
import { ORDERS_CLIENT } from '../orders/orders-client.js';

export interface ClientHealth extends ZeroMqClientMetrics {
  status: ZeroMqStatus;
  /** Live connections per socket (`default`: workers, `export`: plain consumers). */
  connections: Record<string, number>;
}

/**
 * Follows the orders client for `/health`: its status, its counters and how many peers each
 * socket has, counted from the client's connect/accept/disconnect events. Logs a summary at
 * shutdown, after ClientsModule has closed the client (queued orders sent first).
 */
@Injectable()
export class ClientConnections implements OnModuleInit, OnApplicationBootstrap, OnModuleDestroy, OnApplicationShutdown {
  private status = ZeroMqStatus.CONNECTING;
  private readonly connections: Record<string, number> = {};
  private statusSubscription: Subscription | undefined;
  private readonly logger = new Logger('Producer');

  constructor(@Inject(ORDERS_CLIENT) private readonly client: ZeroMqClient) {}

  onModuleInit(): void {
    this.statusSubscription = this.client.status.subscribe((status) => (this.status = status));
    const count = (change: number) => (event: ZeroMqSocketEvent) => {
      this.connections[event.socket] = Math.max(0, (this.connections[event.socket] ?? 0) + change);
    };
    this.client.on('connect', count(+1));
    this.client.on('accept', count(+1));
    this.client.on('disconnect', count(-1));
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
    return { status: this.status, connections: { ...this.connections }, ...this.client.getMetrics() };
  }
}
