import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertAppsBuilt, postOrder, waitForConnections } from '../scripts/lib/sample-apps.js';
import { childApps } from './helpers/child-apps.js';

const KEYGEN = 'libs/nestjs-zeromq/dist/cli/main.js';
const ORDER = { customerId: 'customer-7', items: [{ sku: 'KB-101', quantity: 1, unitPrice: 10 }] };

describe('sample apps with CURVE (keys from `nestjs-zeromq keygen` files)', () => {
  const apps = childApps();
  let keys: string;
  const keygen = (name: string) => execFileSync(process.execPath, [KEYGEN, 'keygen', '--out', join(keys, name)], { stdio: 'pipe' });

  beforeAll(() => {
    assertAppsBuilt();
    keys = mkdtempSync(join(tmpdir(), 'nzmq-keys-'));
    for (const name of ['worker', 'producer', 'stranger']) {
      keygen(name);
    }
  });
  afterAll(() => rmSync(keys, { recursive: true, force: true }));

  it('delivers orders from an allowed producer and refuses one whose key is not listed', async () => {
    const worker = await apps.worker({
      name: 'worker-curve',
      endpoints: ['tcp://127.0.0.1:*'],
      env: {
        WORKER_CURVE_SECRET_KEY_FILE: join(keys, 'worker.key'),
        WORKER_CURVE_ALLOW_CLIENT_KEY_FILES: join(keys, 'producer.pub'),
      },
    });
    const curveEnv = (name: string) => ({
      PRODUCER_CURVE_SECRET_KEY_FILE: join(keys, `${name}.key`),
      PRODUCER_CURVE_SERVER_PUBLIC_KEY_FILE: join(keys, 'worker.pub'),
    });
    const producer = await apps.producer({ endpoints: worker.sockets.default, env: curveEnv('producer') });
    await waitForConnections(producer.url, 1);
    const accepted = await postOrder(producer.url, ORDER);
    expect(accepted.status).toBe(202);
    const { id } = accepted.body as { id: string };
    await worker.process.waitFor((line) => line.message.startsWith(`Order ${id} processed`), 10_000, `order ${id}`);

    const stranger = await apps.producer({ endpoints: worker.sockets.default, env: curveEnv('stranger'), sendTimeout: 1_000 });
    const refused = await postOrder(stranger.url, ORDER);
    expect(refused.status).toBe(503);
    await worker.process.waitFor((line) => line.message.includes('Rejected CURVE client'), 10_000, 'the rejection log line');
  });
});
