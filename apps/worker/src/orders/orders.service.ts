import { Injectable, Logger } from '@nestjs/common';
import { HasherService } from '../work/hasher.service.js';
import { WorkStats } from '../work/work-stats.service.js';
import { ORDER_CREATED, type OrderCreatedEvent } from '../../../common/src/orders.contract.js';

@Injectable()
export class OrdersService {
  private readonly logger = new Logger(OrdersService.name);

  constructor(
    private readonly hasher: HasherService,
    private readonly stats: WorkStats,
  ) {}

  /** Seals the order with a receipt digest (the CPU work) and records it. */
  async process(order: OrderCreatedEvent): Promise<void> {
    this.logger.verbose(`Order ${order.id} received`);
    const receipt = await this.hasher.digest(JSON.stringify(order));
    this.stats.record(ORDER_CREATED);
    this.logger.debug(`Order ${order.id} processed: ${order.items.length} item(s), ${order.total} ${order.currency}, receipt ${receipt}`);
  }
}
