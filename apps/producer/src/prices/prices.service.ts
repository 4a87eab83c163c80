import { Inject, Injectable, ServiceUnavailableException } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ZeroMqClient, ZeroMqSendError } from 'nestjs-zeromq';
import { lastValueFrom } from 'rxjs';
import { PRICE_CHANGED, type PriceChangedEvent } from '../../../common/src/prices.contract.js';
import type { ProducerEnv } from '../config/producer.env.js';
import { ORDERS_CLIENT, PRICES_SOCKET } from '../orders/orders-client.js';

/** What `POST /prices` answers: the change and the workers subscribed when it left. */
export interface PriceBroadcast extends PriceChangedEvent {
  subscribers: number;
}

@Injectable()
export class PricesService {
  private readonly broadcasting: boolean;

  constructor(
    @Inject(ORDERS_CLIENT) private readonly client: ZeroMqClient,
    config: ConfigService<ProducerEnv, true>,
  ) {
    this.broadcasting = config.get('PRODUCER_BROADCAST_ENDPOINTS', { infer: true }) !== undefined;
  }

  /** Broadcasts the new price to every subscribed worker; resolves once ZeroMQ has taken it. */
  async change(sku: string, unitPrice: number): Promise<PriceBroadcast> {
    if (!this.broadcasting) {
      throw new ServiceUnavailableException('Price broadcasts are off: set PRODUCER_BROADCAST_ENDPOINTS');
    }
    const event: PriceChangedEvent = { sku, unitPrice, changedAt: new Date().toISOString() };
    const subscribers = this.subscribers();
    try {
      await lastValueFrom(this.client.emit(PRICE_CHANGED, event), { defaultValue: undefined });
    } catch (error) {
      if (error instanceof ZeroMqSendError) {
        throw new ServiceUnavailableException(`The price change was not sent (${error.code}); try again later`);
      }
      throw error;
    }
    return { ...event, subscribers };
  }

  /** Workers subscribed to price changes (each holds one subscription that covers them). */
  subscribers(): number {
    const counts = this.client.getMetrics().subscriptions[PRICES_SOCKET] ?? {};
    return Object.entries(counts)
      .filter(([prefix]) => PRICE_CHANGED.startsWith(prefix))
      .reduce((sum, [, count]) => sum + count, 0);
  }
}
