import { Controller, Inject } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import type { ZeroMqContext } from '../src/zeromq.context.js';
import { RECEIVED, type Received } from './nest-apps.js';
import type { Collector } from './waiting.js';

/** Records which handler got which pattern: an exact one, a one-token and a rest wildcard. */
@Controller()
export class WildcardController {
  constructor(@Inject(RECEIVED) private readonly received: Collector<Received>) {}

  private record(handler: string, data: unknown, context: ZeroMqContext): void {
    this.received.add({ pattern: `${handler} <- ${context.getPattern()}`, data, context });
  }

  @EventPattern<string>('orders.created')
  exact(@Payload() data: unknown, @Ctx() context: ZeroMqContext): void {
    this.record('orders.created', data, context);
  }

  @EventPattern<string>('orders.*')
  oneToken(@Payload() data: unknown, @Ctx() context: ZeroMqContext): void {
    this.record('orders.*', data, context);
  }

  @EventPattern<string>('prices.>')
  rest(@Payload() data: unknown, @Ctx() context: ZeroMqContext): void {
    this.record('prices.>', data, context);
  }
}
