import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AppProcess } from '../scripts/lib/app-process.js';
import { assertAppsBuilt, processedOrderIds, PRODUCE_CLI, REPO_ROOT, workerSummary } from '../scripts/lib/sample-apps.js';
import { childApps, expectCleanExit } from './helpers/child-apps.js';

const output = (child: AppProcess) => child.lines.map((line) => line.message).join('\n');

describe('npm run demo and npm run produce (child processes)', () => {
  const apps = childApps();
  beforeAll(assertAppsBuilt);

  it('the demo starts workers and the producer, shares the orders, prints the table and exits 0', async () => {
    const demo = apps.command('demo', process.execPath, [join(REPO_ROOT, 'dist/scripts/demo.js'), '--orders', '400', '--workers', '3']);
    await expectCleanExit(demo);
    const text = output(demo);
    const rows = [...text.matchAll(/│ (worker-\d|total) +│ +\d* │ +(\d+) │ +([\d.]+)% │ +(\d+) │/g)].map(([, name, orders, , failed]) => ({
      name,
      orders: Number(orders),
      failed: Number(failed),
    }));
    expect(rows.map((row) => row.name)).toEqual(['worker-1', 'worker-2', 'worker-3', 'total']);
    expect(rows.slice(0, 3).every((row) => row.orders > 0 && row.failed === 0)).toBe(true);
    expect(rows[0].orders + rows[1].orders + rows[2].orders).toBe(400);
    expect(rows[3].orders).toBe(400);
    expect(text).toContain('all processed');
    expect(text).toContain('each exactly once');
    expect(text).toContain('Price of KB-101 set to 19.99 with one POST /prices: broadcast to 3 worker(s), applied by every one.');
    expect([...text.matchAll(/│ worker-\d +│ +\d+ │ +\d+ │ +[\d.]+% │ +0 │ +19\.99 │/g)]).toHaveLength(3);
  }, 90_000);

  it('the demo with --crash-producer SIGKILLs the producer half-way, restarts it on its outbox, and every accepted order is processed', async () => {
    const demo = apps.command('demo', process.execPath, [
      join(REPO_ROOT, 'dist/scripts/demo.js'),
      '--crash-producer',
      '--orders',
      '300',
      '--workers',
      '2',
    ]);
    await expectCleanExit(demo);
    const text = output(demo);
    expect(text).toMatch(/SIGKILLed after \d+ accepted orders, \d+ of them not processed yet .*exit \{"code":null,"signal":"SIGKILL"\}/);
    const [, accepted, before, after] =
      /^(\d+) orders accepted \(202\): (\d+) before the SIGKILL, (\d+) after the restart\.$/m.exec(text) ?? [];
    expect(Number(accepted)).toBe(300);
    expect(Number(before)).toBeGreaterThanOrEqual(150);
    expect(Number(before) + Number(after)).toBe(300);
    // Orders stored and not yet handled when the producer died were sent again by its successor.
    expect(Number(/^The restarted producer replayed (\d+) order\(s\) from its outbox\.$/m.exec(text)?.[1])).toBeGreaterThan(0);
    expect(text).toMatch(
      /^Every accepted order was processed: \d+ distinct orders( \(\d+ stored whose 202 the kill cut off\))?, \d+ processed twice/m,
    );
  }, 90_000);

  it('produce sends orders straight over ZeroMQ and prints sent, failed and msg/s', async () => {
    const worker = await apps.worker({ name: 'worker-load', endpoints: ['tcp://127.0.0.1:*'], hashIterations: 1_000 });
    const produce = apps.command('produce', process.execPath, [PRODUCE_CLI, '--count', '3000', '--endpoints', worker.sockets.default[0]]);
    await expectCleanExit(produce);
    expect(output(produce)).toMatch(/^sent 3000, failed 0 in \d+\.\d\d s: \d+ msg\/s$/m);

    let processed = 0;
    await worker.process.waitFor((line) => line.context === 'OrdersService' && ++processed === 3000, 60_000, '3000 processed orders');
    await expectCleanExit(worker.process, worker.process.stop());
    expect(new Set(processedOrderIds(worker.process.lines)).size).toBe(3000);
    expect(workerSummary(worker.process)).toMatchObject({ received: 3000, handled: 3000, failed: 0 });
  }, 90_000);

  it('produce reports failures and exits 1 when no worker takes the orders', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nzmq-e2e-'));
    try {
      const produce = apps.command('produce', process.execPath, [
        PRODUCE_CLI,
        '--count',
        '5',
        '--send-timeout',
        '200',
        '--endpoints',
        `ipc://${join(dir, 'nobody-here.sock')}`,
      ]);
      expect(await produce.exited).toEqual({ code: 1, signal: null });
      expect(output(produce)).toMatch(/^sent 0, failed 5 in /m);
      expect(output(produce)).toMatch(
        /^first failure: Cannot emit "orders.created" on socket "default" .*no peer accepted it within 200 ms/m,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('produce rejects bad arguments with exit code 2 and says why', async () => {
    const produce = apps.command('produce', process.execPath, [PRODUCE_CLI, '--count', 'lots', '--endpoints', 'tcp://127.0.0.1:5557']);
    expect(await produce.exited).toEqual({ code: 2, signal: null });
    expect(output(produce)).toContain(`option '-n, --count <orders>' argument 'lots' is invalid. expected a whole number ≥ 1, got "lots"`);
  });
});
