import { Controller, Inject } from '@nestjs/common';
import { Ctx, EventPattern, MessagePattern, Payload } from '@nestjs/microservices';
import { firstValueFrom } from 'rxjs';
import { ZeroMqClient } from '../zeromq.client.js';
import type { ZeroMqContext } from '../zeromq.context.js';
import type { ZeroMqClientOptions } from '../zeromq.options.js';
import { LOOPBACK_ANY_PORT } from '../../test/endpoints.js';
import { boundAddress, RECEIVED, startWorker, type Received, type Worker } from '../../test/nest-apps.js';
import { Collector, eventually } from '../../test/waiting.js';
import { ZeroMqRecord, ZeroMqRecordBuilder } from './zeromq.record-builder.js';

@Controller()
class RecordsController {
  constructor(@Inject(RECEIVED) private readonly received: Collector<Received>) {}

  @EventPattern<string>('noted')
  noted(@Payload() data: unknown, @Ctx() context: ZeroMqContext): void {
    this.received.add({ pattern: context.getPattern(), data, context });
  }

  @EventPattern<string>('flaky')
  flaky(@Payload() data: unknown, @Ctx() context: ZeroMqContext): never {
    this.received.add({ pattern: context.getPattern(), data, context });
    throw new Error('flaky handler failed');
  }

  @MessagePattern('echo.metadata')
  echo(@Payload() data: unknown, @Ctx() context: ZeroMqContext) {
    return { data, metadata: context.getMetadata() };
  }

  /** Never answers (until the server closes). */
  @MessagePattern('silent')
  silent(): Promise<never> {
    return new Promise(() => undefined);
  }
}

describe('ZeroMqRecordBuilder: per-message headers and options', () => {
  const workers: Worker[] = [];
  const clients: ZeroMqClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close()));
    await Promise.all(workers.splice(0).map((worker) => worker.app.close()));
  });
  const setup = async (options: Partial<ZeroMqClientOptions> = {}) => {
    const worker = await startWorker({ endpoints: [LOOPBACK_ANY_PORT], kind: 'dealer-router', closeTimeout: 200 }, [RecordsController]);
    workers.push(worker);
    const client = new ZeroMqClient({ endpoints: [boundAddress(worker.server)], kind: 'dealer-router', ...options });
    clients.push(client);
    return { worker, client };
  };

  it('emit(): the headers arrive as metadata beside the dispatch hook’s, the data as the payload', async () => {
    const { worker, client } = await setup();
    client.setOnDispatchHook((packet) => (packet.metadata = { from: 'hook', tenant: 'hook' }));
    const record = new ZeroMqRecordBuilder({ id: 7 }).setHeaders({ tenant: 'acme', 'x-request-id': 'r-1' }).build();
    await firstValueFrom(client.emit('noted', record), { defaultValue: undefined });
    const [received] = await worker.received.waitFor(1);
    expect(received.data).toEqual({ id: 7 });
    expect(received.context.getMetadata()).toEqual({ from: 'hook', tenant: 'acme', 'x-request-id': 'r-1' });
  });

  it('send(): the headers reach the handler and the reply comes back', async () => {
    const { client } = await setup();
    const record = new ZeroMqRecordBuilder().setData([1, 2]).setHeaders({ tenant: 'acme' }).build();
    expect(await firstValueFrom(client.send('echo.metadata', record))).toEqual({ data: [1, 2], metadata: { tenant: 'acme' } });
  });

  it('send(): options.timeout replaces requestTimeout for that request only', async () => {
    // Without the record's timeout this request would wait a minute, past the test's own timeout.
    const { client } = await setup({ requestTimeout: 60_000 });
    const record = new ZeroMqRecordBuilder('anything').setOptions({ timeout: 150 }).build();
    await expect(firstValueFrom(client.send('silent', record))).rejects.toMatchObject({
      code: 'TIMEOUT',
      message: expect.stringContaining('no complete answer within 150 ms'),
    });
    expect(await firstValueFrom(client.send('echo.metadata', 'plain'))).toEqual({ data: 'plain' });
  });

  it("emit(): delivery 'at-most-once' sends one message of an at-least-once client without ack or retry", async () => {
    const { worker, client } = await setup({ delivery: 'at-least-once', maxAttempts: 3, retryDelay: 10 });
    // At least once: the failing handler runs maxAttempts times and the emit is dead-lettered.
    await expect(firstValueFrom(client.emit('flaky', { n: 1 }), { defaultValue: undefined })).rejects.toMatchObject({
      code: 'DEAD_LETTER',
    });
    expect(worker.received.items).toHaveLength(3);
    // At most once for this one: handed to ZeroMQ, run once, failure not retried.
    const once = new ZeroMqRecordBuilder({ n: 2 }).setOptions({ delivery: 'at-most-once' }).build();
    await firstValueFrom(client.emit('flaky', once), { defaultValue: undefined });
    await eventually(
      () => worker.server.getMetrics().failed,
      (failed) => failed === 4,
    );
    expect(worker.received.items.map((item) => [item.data, item.context.getMessageId() === undefined])).toEqual([
      [{ n: 1 }, false],
      [{ n: 1 }, false],
      [{ n: 1 }, false],
      [{ n: 2 }, true],
    ]);
    expect(client.getMetrics()).toMatchObject({ sent: 1, redelivered: 2, deadLettered: 1, unacked: 0 });
  });

  it("emit(): delivery 'at-least-once' on an at-most-once client fails with SEND_FAILED, naming the option", async () => {
    const { client } = await setup();
    const record = new ZeroMqRecordBuilder({}).setOptions({ delivery: 'at-least-once' }).build();
    await expect(firstValueFrom(client.emit('noted', record), { defaultValue: undefined })).rejects.toMatchObject({
      code: 'SEND_FAILED',
      message: expect.stringContaining("delivery 'at-least-once' needs a route with delivery: 'at-least-once'"),
    });
  });

  it('build() refuses headers that are not text and options out of range', () => {
    expect(() => new ZeroMqRecordBuilder({}).setHeaders({ count: 3 as unknown as string }).build()).toThrow(
      'ZeroMqRecord header "count" must be a string, got number',
    );
    expect(() => new ZeroMqRecordBuilder({}).setOptions({ timeout: -1 }).build()).toThrow(TypeError);
    expect(new ZeroMqRecordBuilder({ a: 1 }).build()).toEqual(new ZeroMqRecord({ a: 1 }, {}, {}));
  });
});
