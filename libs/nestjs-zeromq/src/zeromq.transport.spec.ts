import { firstValueFrom } from 'rxjs';
import { ZeroMqClient } from './zeromq.client.js';
import { boundAddress, startWorker, type Worker } from '../../../test/helpers/nest-apps.js';
import { inprocAddress, ipcDir, LOOPBACK_ANY_PORT } from '../../../test/helpers/endpoints.js';

const emit = (client: ZeroMqClient, pattern: unknown, data: unknown) =>
  firstValueFrom(client.emit(pattern, data), { defaultValue: undefined });

describe('ZeroMqServer + ZeroMqClient: emit to @EventPattern', () => {
  let worker: Worker | undefined;
  let client: ZeroMqClient | undefined;
  const ipc = ipcDir();

  afterEach(async () => {
    await client?.close();
    await worker?.app.close();
    client = undefined;
    worker = undefined;
  });
  afterAll(() => ipc.cleanup());

  it('delivers over tcp with the server bound and the client connecting', async () => {
    worker = await startWorker({ endpoints: [LOOPBACK_ANY_PORT] });
    client = new ZeroMqClient({ endpoints: [boundAddress(worker.server)] });
    await emit(client, 'orders.created', { id: 1, total: 9.5 });
    const [received] = await worker.received.waitFor(1);
    expect(received.data).toEqual({ id: 1, total: 9.5 });
    expect(received.context.getPattern()).toBe('orders.created');
    expect(received.context.getSocketName()).toBe('default');
  });
});
