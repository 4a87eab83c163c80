import { Controller } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import type { ZeroMqContext } from 'nestjs-zeromq';
import { PRICE_EVENTS, priceChangedSchema, type PriceChangedEvent } from '../../../common/src/prices.contract.js';
import { PriceBook } from './price-book.service.js';

@Controller()
export class PricesController {
  constructor(private readonly book: PriceBook) {}

  /** Every `prices.*` broadcast (WORKER_BROADCAST_ENDPOINTS): each worker applies each change. */
  @EventPattern<string>(PRICE_EVENTS)
  onPriceChanged(@Payload({ schema: priceChangedSchema }) change: PriceChangedEvent, @Ctx() context: ZeroMqContext): void {
    this.book.apply(context.getPattern(), change);
  }
}
