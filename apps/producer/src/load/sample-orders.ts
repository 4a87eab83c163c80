import type { CreateOrderRequest } from '../orders/create-order.request.js';

const SKUS = ['KB-101', 'MS-202', 'HD-303', 'CB-404', 'MN-505'];
const CURRENCIES = ['EUR', 'USD', 'GBP'] as const;

/** A valid order that varies with `index` (customer, 1 to 3 items, currency), for load runs. */
export function sampleOrder(index: number): CreateOrderRequest {
  const items = Array.from({ length: 1 + (index % 3) }, (_, line) => ({
    sku: SKUS[(index + line) % SKUS.length],
    quantity: 1 + ((index + line) % 4),
    unitPrice: 5 + ((index * 7 + line * 13) % 200) / 4,
  }));
  return { customerId: `customer-${index % 500}`, items, currency: CURRENCIES[index % CURRENCIES.length] };
}
