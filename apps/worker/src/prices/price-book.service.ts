import { Injectable, Logger } from '@nestjs/common';
import type { PriceChangedEvent } from '../../../common/src/prices.contract.js';
import { WorkStats } from '../work/work-stats.service.js';

/** This worker's copy of the catalogue's prices, kept current by the producer's broadcasts. */
@Injectable()
export class PriceBook {
  private readonly logger = new Logger(PriceBook.name);
  private readonly prices = new Map<string, number>();

  constructor(private readonly stats: WorkStats) {}

  apply(pattern: string, change: PriceChangedEvent): void {
    this.prices.set(change.sku, change.unitPrice);
    this.stats.record(pattern);
    this.logger.log(`Price of ${change.sku} is now ${change.unitPrice} (${pattern}, changed at ${change.changedAt})`);
  }

  priceOf(sku: string): number | undefined {
    return this.prices.get(sku);
  }
}
