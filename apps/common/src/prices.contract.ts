import { z } from 'zod';

/** The broadcast the producer sends when a price changes; every worker applies it. */
export const PRICE_CHANGED = 'prices.changed';

/** What a worker subscribes to: every `prices.<event>` broadcast (a wildcard pattern). */
export const PRICE_EVENTS = 'prices.*';

/** Payload of `prices.changed`: the new unit price of one SKU. */
export const priceChangedSchema = z.object({
  sku: z.string().min(1),
  unitPrice: z.number().positive(),
  changedAt: z.iso.datetime(),
});

export type PriceChangedEvent = z.output<typeof priceChangedSchema>;
