import { assertAppsBuilt, processedOrderIds, PRODUCE_CLI, workerSummary, type RunningApp } from '../scripts/lib/sample-apps.js';
import { childApps, expectCleanExit } from './helpers/child-apps.js';
import { NetnsLab } from './helpers/netns-lab.js';
import { netnsUnavailable } from './helpers/netns.js';
import { itNeeding } from './helpers/needs-tool.js';
import { eventually } from './helpers/waiting.js';

const withNetns = itNeeding('network namespaces (root or CAP_SYS_ADMIN, and iproute2)', netnsUnavailable());
const ORDERS = 2_000;

describe('across hosts: producer and workers in separate network namespaces', () => {
  const apps = childApps();
  beforeAll(assertAppsBuilt);

  withNetns(
    'jobs flow from the producer host to two worker hosts over veth links',
    async () => {
      const lab = new NetnsLab(
        ['producer', 'worker1', 'worker2'],
        [
          ['producer', 'worker1'],
          ['producer', 'worker2'],
        ],
      );
      const workers: RunningApp[] = [];
      try {
        const { worker1, worker2, producer } = lab.hosts;
        // Each worker binds on its own link address: it is reachable from the producer host only.
        for (const [name, host] of [
          ['worker-host-1', worker1],
          ['worker-host-2', worker2],
        ] as const) {
          workers.push(await apps.worker({ name, endpoints: [`tcp://${host.addressTo.producer}:5557`], netns: host.netns }));
        }
        const endpoints = workers.map((worker) => worker.sockets.default[0]);
        expect(endpoints).toEqual(['tcp://10.201.1.2:5557', 'tcp://10.201.2.2:5557']);

        // The load generator runs on the producer host, paced so that both connections are up early.
        const produce = apps.command(
          'produce',
          process.execPath,
          [PRODUCE_CLI, '--count', String(ORDERS), '--rate', '2000', '--endpoints', endpoints.join(','), '--no-progress'],
          {
            netns: producer.netns,
          },
        );
        await expectCleanExit(produce);
        expect(produce.lines.map((line) => line.message).join('\n')).toMatch(new RegExp(`^sent ${ORDERS}, failed 0 in `, 'm'));

        const processed = () => workers.flatMap((worker) => processedOrderIds(worker.process.lines));
        await eventually(
          () => processed().length,
          (count) => count >= ORDERS,
          30_000,
        );
        for (const worker of workers) {
          await expectCleanExit(worker.process, worker.process.stop());
        }
        const handled = workers.map((worker) => workerSummary(worker.process).handled);
        expect(handled.every((count) => count > 0)).toBe(true);
        expect(handled[0] + handled[1]).toBe(ORDERS);
        expect(new Set(processed()).size).toBe(ORDERS);
        console.log(`Across namespaces: ${ORDERS} orders from the producer host, worker hosts handled ${handled.join(' and ')}`);
      } finally {
        await Promise.all(workers.map((worker) => worker.process.kill()));
        lab.remove();
      }
    },
    60_000,
  );
});
