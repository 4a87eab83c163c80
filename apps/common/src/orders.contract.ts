import { z } from 'zod';

/** The event the producer emits for each accepted order and the worker handles. */
export const ORDER_CREATED = 'orders.created';

/**
 * Payload of `orders.created`. Consumers validate with it; it is not strict, so a producer may
 * add fields without breaking workers that do not know them yet.
 */
export const orderCreatedSchema = z.object({
  id: z.uuid(),
  customerId: z.string().min(1),
  items: z.array(z.object({ sku: z.string().min(1), quantity: z.number().int().positive(), unitPrice: z.number().nonnegative() })).min(1),
  currency: z.string().length(3),
  /** Sum of quantity × unitPrice, rounded to cents. */
  total: z.number().nonnegative(),
  createdAt: z.iso.datetime(),
});

export type OrderCreatedEvent = z.output<typeof orderCreatedSchema>;
