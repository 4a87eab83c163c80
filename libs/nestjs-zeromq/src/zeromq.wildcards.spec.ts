import { firstValueFrom } from 'rxjs';
import { ZeroMqClient } from './zeromq.client.js';
import { boundAddress, startWorker, type Worker } from '../test/nest-apps.js';
import { WildcardController } from '../test/wildcard-controller.js';
import { LOOPBACK_ANY_PORT } from '../test/endpoints.js';
import { eventually } from '../test/waiting.js';

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
    await eventually(
      () => worker.server.getMetrics(),
      (metrics) => metrics.handled + metrics.unknownPattern === 7,
    );
    expect(worker.received.items.map((item) => item.pattern)).toEqual([
      'orders.created <- orders.created',
      'orders.* <- orders.shipped',
      'prices.> <- prices.eu',
      'prices.> <- prices.eu.sku-1',
    ]);
    expect(worker.server.getMetrics()).toMatchObject({ received: 7, handled: 4, unknownPattern: 3 });
  });
});
