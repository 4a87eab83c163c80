import { Body, Controller, Get, HttpCode, HttpStatus, Post } from '@nestjs/common';
import { z } from 'zod';
import { PricesService, type PriceBroadcast } from './prices.service.js';

/** Body of `POST /prices`. */
export const changePriceSchema = z.strictObject({
  sku: z.string().trim().min(1).max(32),
  unitPrice: z.number().positive().max(1_000_000),
});

@Controller('prices')
export class PricesController {
  constructor(private readonly prices: PricesService) {}

  /** 202 once the change is broadcast to every subscribed worker (at most once: see docs/delivery.md). */
  @Post()
  @HttpCode(HttpStatus.ACCEPTED)
  change(@Body({ schema: changePriceSchema }) body: z.output<typeof changePriceSchema>): Promise<PriceBroadcast> {
    return this.prices.change(body.sku, body.unitPrice);
  }

  /** How many workers hold a subscription to price changes now. */
  @Get('subscribers')
  subscribers(): { subscribers: number } {
    return { subscribers: this.prices.subscribers() };
  }
}
