import { Controller } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { ORDER_CREATED, orderCreatedSchema, type OrderCreatedEvent } from '../../../common/src/orders.contract.js';
import { OrdersService } from './orders.service.js';

@Controller()
export class OrdersController {
  constructor(private readonly orders: OrdersService) {}

  /** The global validation pipe checks the payload against the schema before this runs. */
  @EventPattern(ORDER_CREATED)
  async onOrderCreated(@Payload({ schema: orderCreatedSchema }) order: OrderCreatedEvent): Promise<void> {
    await this.orders.process(order);
  }
}
