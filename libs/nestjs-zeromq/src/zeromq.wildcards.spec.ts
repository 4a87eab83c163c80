import { Controller, Inject } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { firstValueFrom } from 'rxjs';
import { ZeroMqClient } from './zeromq.client.js';
import type { ZeroMqContext } from './zeromq.context.js';
import { boundAddress, RECEIVED, startWorker, type Received, type Worker } from '../test/nest-apps.js';
import { LOOPBACK_ANY_PORT } from '../test/endpoints.js';
import { Collector, eventually } from '../test/waiting.js';

/** Records which handler got which pattern. */
@Controller()
class WildcardController {
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

describe('wildcard @EventPattern handlers', () => {
  const workers: Worker[] = [];
  const clients: ZeroMqClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close()));
    await Promise.all(workers.splice(0).map((worker) => worker.app.close()));
  });

  it("on PUSH/PULL: exact handlers win, '*' takes one token, '>' the rest, no handler runs for the others", async () => {
    const worker = await startWorker({ endpoints: [LOOPBACK_ANY_PORT] }, [WildcardController]);
    workers.push(worker);
    const client = new ZeroMqClient({ endpoints: [boundAddress(worker.server)] });
    clients.push(client);
    for (const pattern of ['orders.created', 'orders.shipped', 'orders.eu.shipped', 'prices.eu', 'prices.eu.sku-1', 'prices', 'other']) {
      await firstValueFrom(client.emit(pattern, pattern), { defaultValue: undefined });
    }
    await eventually(() => worker.server.getMetrics(), (metrics) => metrics.handled + metrics.unknownPattern === 7);
    expect(worker.received.items.map((item) => item.pattern)).toEqual([
      'orders.created <- orders.created',
      'orders.* <- orders.shipped',
      'prices.> <- prices.eu',
      'prices.> <- prices.eu.sku-1',
    ]);
    expect(worker.server.getMetrics()).toMatchObject({ received: 7, handled: 4, unknownPattern: 3 });
  });
});
