import { Inject, Injectable, ServiceUnavailableException } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ZeroMqClient, ZeroMqSendError } from 'nestjs-zeromq';
import { lastValueFrom } from 'rxjs';
import { ORDER_CREATED, type OrderCreatedEvent } from '../../../common/src/orders.contract.js';
import type { ProducerEnv } from '../config/producer.env.js';
import { toOrderCreatedEvent, type CreateOrderRequest } from './create-order.request.js';
import { ORDER_EXPORT, ORDERS_CLIENT } from './orders-client.js';

@Injectable()
export class OrdersService {
  private readonly exporting: boolean;

  constructor(
    @Inject(ORDERS_CLIENT) private readonly client: ZeroMqClient,
    config: ConfigService<ProducerEnv, true>,
  ) {
    this.exporting = config.get('PRODUCER_EXPORT_ENDPOINTS', { infer: true }) !== undefined;
  }

  /**
   * Emits the order to the workers (and to the export consumers). At most once (the default), it
   * resolves once ZeroMQ has taken it, and a worker that dies with the order in its queue loses it;
   * at least once (PRODUCER_DELIVERY), once a worker has handled it; with a durable outbox
   * (PRODUCER_OUTBOX_PATH), once it is stored on disk, from where it is sent until a worker has
   * handled it, across crashes and restarts of this producer.
   */
  async place(request: CreateOrderRequest): Promise<OrderCreatedEvent> {
    const order = toOrderCreatedEvent(request);
    const patterns = this.exporting ? [ORDER_CREATED, ORDER_EXPORT] : [ORDER_CREATED];
    try {
      await Promise.all(patterns.map((pattern) => lastValueFrom(this.client.emit(pattern, order), { defaultValue: undefined })));
    } catch (error) {
      if (error instanceof ZeroMqSendError) {
        // The client has logged the details (socket, endpoints, outbox); the caller learns what to do.
        const what =
          error.code === 'OUTBOX_FULL' || error.code === 'NOT_STORED' ? 'The order could not be stored' : 'No worker took the order';
        throw new ServiceUnavailableException(`${what} (${error.code}); try again later`);
      }
      throw error;
    }
    return order;
  }
}
