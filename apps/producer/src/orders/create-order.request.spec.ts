import { orderCreatedSchema } from '../../../common/src/orders.contract.js';
import { createOrderSchema, toOrderCreatedEvent } from './create-order.request.js';

describe('POST /orders body and the orders.created event', () => {
  const request = createOrderSchema.parse({
    customerId: ' customer-7 ',
    items: [
      { sku: 'KB-101', quantity: 3, unitPrice: 0.1 },
      { sku: 'MS-202', quantity: 1, unitPrice: 19.99 },
    ],
  });

  it('trims, defaults the currency and sums the total in cents', () => {
    const event = toOrderCreatedEvent(request, new Date('2026-01-02T03:04:05.000Z'));
    expect(event).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      customerId: 'customer-7',
      items: request.items,
      currency: 'EUR',
      total: 20.29,
      createdAt: '2026-01-02T03:04:05.000Z',
    });
  });

  it('makes events that the worker accepts (the shared contract)', () => {
    expect(orderCreatedSchema.safeParse(toOrderCreatedEvent(request)).success).toBe(true);
  });

  it('gives a distinct id to each order', () => {
    expect(toOrderCreatedEvent(request).id).not.toBe(toOrderCreatedEvent(request).id);
  });

  it('rejects unknown fields and impossible quantities, naming them', () => {
    const result = createOrderSchema.safeParse({ ...request, discount: 5, items: [{ sku: 'X', quantity: 0.5, unitPrice: 1 }] });
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((issue) => issue.path.join('.'))).toEqual(['items.0.quantity', '']);
  });
});
