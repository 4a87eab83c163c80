import { Body, Controller, HttpCode, HttpStatus, Post } from '@nestjs/common';
import { createOrderSchema, type CreateOrderRequest } from './create-order.request.js';
import { OrdersService } from './orders.service.js';

/** What `POST /orders` answers: the order is on its way to a worker, not yet processed. */
export interface OrderAccepted {
  id: string;
  total: number;
  createdAt: string;
}

@Controller('orders')
export class OrdersController {
  constructor(private readonly orders: OrdersService) {}

  /** 202 once a worker's queue has the order; 400 with the reasons for a bad body (nothing is sent). */
  @Post()
  @HttpCode(HttpStatus.ACCEPTED)
  async create(@Body({ schema: createOrderSchema }) body: CreateOrderRequest): Promise<OrderAccepted> {
    const { id, total, createdAt } = await this.orders.place(body);
    return { id, total, createdAt };
  }
}
