import { Test } from '@nestjs/testing';
import { createZeroMqTestingPair, type ZeroMqTestingPair } from 'nestjs-zeromq/testing';
import { ORDER_CREATED, type OrderCreatedEvent } from '../../../common/src/orders.contract.js';
import { Collector } from '../../../../test/helpers/waiting.js';
import { OrdersController } from './orders.controller.js';
import { OrdersService } from './orders.service.js';

describe('OrdersController over ZeroMQ', () => {
  let pair: ZeroMqTestingPair | undefined;
  afterEach(() => pair?.close());

  it('hands each orders.created event to OrdersService.process', async () => {
    const processed = new Collector<OrderCreatedEvent>();
    const moduleRef = await Test.createTestingModule({
      controllers: [OrdersController],
      providers: [{ provide: OrdersService, useValue: { process: async (order: OrderCreatedEvent) => processed.add(order) } }],
    }).compile();
    pair = await createZeroMqTestingPair({ module: moduleRef, kind: 'push-pull' });
    const order: OrderCreatedEvent = {
      id: '0b7e3f0e-2f4b-4c8e-9a51-5f0d2d8c1a10',
      customerId: 'c-1',
      items: [{ sku: 'KB-101', quantity: 2, unitPrice: 49.5 }],
      currency: 'EUR',
      total: 99,
      createdAt: '2026-01-01T00:00:00.000Z',
    };
    await pair.emit(ORDER_CREATED, order);
    expect(await processed.waitFor(1)).toEqual([order]);
  });
});
