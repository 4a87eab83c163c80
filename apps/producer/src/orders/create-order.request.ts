import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { OrderCreatedEvent } from '../../../common/src/orders.contract.js';

/** Body of `POST /orders`. Strict: an unknown field is a client bug worth a 400. */
export const createOrderSchema = z.strictObject({
  customerId: z.string().trim().min(1).max(64),
  items: z
    .array(
      z.strictObject({
        sku: z.string().trim().min(1).max(32),
        quantity: z.number().int().positive().max(1_000),
        unitPrice: z.number().positive().max(1_000_000),
      }),
    )
    .min(1, 'an order needs at least one item')
    .max(100),
  currency: z.enum(['EUR', 'USD', 'GBP']).default('EUR'),
});

export type CreateOrderRequest = z.output<typeof createOrderSchema>;

/** The event for an accepted order: an id, the total and the time it was accepted. */
export function toOrderCreatedEvent(request: CreateOrderRequest, now = new Date()): OrderCreatedEvent {
  const cents = request.items.reduce((sum, item) => sum + Math.round(item.quantity * item.unitPrice * 100), 0);
  return { id: randomUUID(), ...request, total: cents / 100, createdAt: now.toISOString() };
}
