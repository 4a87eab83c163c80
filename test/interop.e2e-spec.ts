import { join } from 'node:path';
import * as zmq from 'zeromq';
import {
  assertAppsBuilt,
  postOrder,
  processedOrderIds,
  processedPlainTasks,
  waitForConnections,
  workerSummary,
} from '../scripts/lib/sample-apps.js';
import { sampleOrder } from '../apps/producer/src/load/sample-orders.js';
import { childApps, expectCleanExit } from './helpers/child-apps.js';
import { itNeeding } from './helpers/needs-tool.js';
import { PYTHON, PYTHON_EXAMPLES, pyzmqMissing } from './helpers/pyzmq.js';
import { within } from './helpers/waiting.js';

const ANY_LOOPBACK_PORT = 'tcp://127.0.0.1:*';

const withPyzmq = itNeeding('pyzmq', pyzmqMissing());

describe('interop with plain ZeroMQ peers (sample apps as child processes)', () => {
  const apps = childApps();
  beforeAll(assertAppsBuilt);

  withPyzmq('the worker handles plain strings from a Python pyzmq PUSH producer (tasks socket, plainMessages)', async () => {
    const worker = await apps.worker({ name: 'worker-pyzmq', endpoints: [ANY_LOOPBACK_PORT], tasksEndpoints: [ANY_LOOPBACK_PORT] });
    const ventilator = apps.command('ventilator.py', PYTHON, [
      join(PYTHON_EXAMPLES, 'ventilator.py'),
      worker.sockets.tasks[0],
      '--count',
      '50',
    ]);
    await expectCleanExit(ventilator);
    expect(ventilator.lines.map((line) => line.message)).toEqual([`sent 50 tasks to ${worker.sockets.tasks[0]}`]);

    let done = 0;
    await worker.process.waitFor((line) => line.context === 'TasksService' && ++done === 50, 15_000, '50 plain tasks');
    expect(processedPlainTasks(worker.process.lines).sort()).toEqual(Array.from({ length: 50 }, (_, index) => `task ${index}`).sort());
    expect(worker.process.matching((line) => line.message.includes('from socket "tasks" processed'))).toHaveLength(50);
    await expectCleanExit(worker.process, worker.process.stop());
    expect(workerSummary(worker.process)).toMatchObject({ received: 50, handled: 50, byPattern: 'tasks.plain 50', failed: 0 });
  });

  it('the worker handles plain frames from a bare zeromq.js PUSH socket', async () => {
    const worker = await apps.worker({ name: 'worker-zeromqjs', endpoints: [ANY_LOOPBACK_PORT] });
    const push = new zmq.Push({ linger: 1_000, sendTimeout: 5_000 });
    try {
      push.connect(worker.sockets.default[0]);
      await push.send('hello from zeromq.js');
      await push.send(Buffer.from('naïve bytes, UTF-8'));
      let done = 0;
      await worker.process.waitFor((line) => line.context === 'TasksService' && ++done === 2, 10_000, '2 plain tasks');
    } finally {
      push.close();
    }
    expect(processedPlainTasks(worker.process.lines).sort()).toEqual(['hello from zeromq.js', 'naïve bytes, UTF-8']);
    expect(worker.process.matching((line) => line.message.includes('from socket "default" processed'))).toHaveLength(2);
    await expectCleanExit(worker.process, worker.process.stop());
  });

  withPyzmq('the producer feeds a Python pyzmq PULL consumer through its bare export route', async () => {
    const sink = apps.command('sink.py', PYTHON, [join(PYTHON_EXAMPLES, 'sink.py'), ANY_LOOPBACK_PORT, '--count', '3', '--timeout', '20']);
    const listening = await sink.waitFor((line) => line.message.startsWith('listening on '), 10_000, 'the sink to bind');
    const sinkAddress = listening.message.slice('listening on '.length);
    const worker = await apps.worker({ name: 'worker-export', endpoints: [ANY_LOOPBACK_PORT] });
    const producer = await apps.producer({ endpoints: worker.sockets.default, exportEndpoints: [sinkAddress] });
    await waitForConnections(producer.url, 1, 'export');

    const answers = await Promise.all([0, 1, 2].map((index) => postOrder(producer.url, sampleOrder(index))));
    expect(answers.map((answer) => answer.status)).toEqual([202, 202, 202]);
    await expectCleanExit(sink);

    const exported = sink.lines.slice(1).map((line) => JSON.parse(line.message) as { id: string; customerId: string; total: number });
    const ids = answers.map((answer) => (answer.body as { id: string }).id);
    expect(exported.map((order) => order.id).sort()).toEqual([...ids].sort());
    for (const order of exported) {
      expect(order).toEqual(expect.objectContaining({ customerId: expect.stringMatching(/^customer-\d+$/), total: expect.any(Number) }));
    }
    let done = 0;
    await worker.process.waitFor((line) => line.context === 'OrdersService' && ++done === 3, 10_000, 'the same 3 orders at the worker');
    expect(processedOrderIds(worker.process.lines).sort()).toEqual([...ids].sort());
  });

  it('the producer feeds a bare zeromq.js PULL socket through its bare export route: one JSON frame per order', async () => {
    const pull = new zmq.Pull({ linger: 0 });
    try {
      await pull.bind(ANY_LOOPBACK_PORT);
      const worker = await apps.worker({ name: 'worker-export-js', endpoints: [ANY_LOOPBACK_PORT] });
      const producer = await apps.producer({ endpoints: worker.sockets.default, exportEndpoints: [pull.lastEndpoint!] });
      await waitForConnections(producer.url, 1, 'export');
      const answer = await postOrder(producer.url, sampleOrder(5));
      expect(answer.status).toBe(202);

      const frames = await within(pull.receive(), 10_000, 'the exported order');
      expect(frames).toHaveLength(1);
      const order = JSON.parse(frames[0].toString('utf8')) as { id: string };
      expect(order).toEqual(expect.objectContaining({ id: (answer.body as { id: string }).id, items: sampleOrder(5).items }));
      await expectCleanExit(producer.process, producer.process.stop());
    } finally {
      pull.close();
    }
  });
});
