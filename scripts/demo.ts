/**
 * `npm run demo`: the sample apps working together on this machine, no broker, no setup.
 *
 * Starts N workers and the HTTP producer as child processes on OS-chosen loopback ports, posts a
 * few thousand orders to `POST /orders`, waits until the workers have processed every one,
 * broadcasts a price change (`POST /prices`, PUB/SUB) that every worker applies, stops everything
 * with SIGTERM and prints how the workers shared the orders. Exits 0 only if every accepted order
 * was processed exactly once, every worker applied the price change and every process exited
 * cleanly.
 *
 *   npm run demo -- --workers 3 --orders 5000
 *
 * With `--crash-producer` the producer keeps a durable outbox and is SIGKILLed half-way through the
 * orders, then started again on the same outbox (scripts/lib/crash-demo.ts): every accepted order
 * must still be processed, at least once.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SingleBar } from 'cli-progress';
import Table from 'cli-table3';
import { Command, InvalidArgumentError } from 'commander';
import { sampleOrder } from '../apps/producer/src/load/sample-orders.js';
import type { AppProcess } from './lib/app-process.js';
import { runCrashDemo, type CrashDemoOptions } from './lib/crash-demo.js';
import {
  appliedPrices,
  assertAppsBuilt,
  postOrders,
  postPrice,
  processedOrderIds,
  startProducer,
  startWorker,
  until,
  waitForConnections,
  waitForPriceSubscribers,
  workerSummary,
  type RunningApp,
} from './lib/sample-apps.js';

interface DemoOptions extends CrashDemoOptions {
  crashProducer: boolean;
}

/** Bound on the wait for the workers to finish after the last order was accepted. */
const PROCESSING_TIMEOUT = 60_000;
/** The price change the demo broadcasts. */
const PRICE_CHANGE = { sku: 'KB-101', unitPrice: 19.99 };

function wholeNumber(value: string): number {
  const number = Number(value);
  if (!Number.isSafeInteger(number) || number < 1) {
    throw new InvalidArgumentError(`expected a whole number ≥ 1, got "${value}"`);
  }
  return number;
}

function parseArguments(): DemoOptions {
  return new Command('demo')
    .description('Run N workers and the producer locally, post orders over HTTP, show how the workers shared them.')
    .option('-w, --workers <count>', 'workers to start', wholeNumber, 2)
    .option('-n, --orders <count>', 'orders to post', wholeNumber, 3_000)
    .option('-p, --parallel <requests>', 'HTTP requests in flight', wholeNumber, 16)
    .option('-v, --verbose', "print the apps' log lines", false)
    .option(
      '--crash-producer',
      'give the producer a durable outbox, SIGKILL it half-way through the orders and start it again on the same outbox',
      false,
    )
    .parse()
    .opts<DemoOptions>();
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

async function runDemo(options: DemoOptions, started: AppProcess[], ipcDir: string): Promise<void> {
  console.log(`nestjs-zeromq demo: ${options.workers} worker(s) and 1 producer on this machine, ${options.orders} orders\n`);

  // The producer binds the price broadcast socket; the workers connect to it (and retry until it is there).
  const prices = `ipc://${join(ipcDir, 'prices.sock')}`;
  const workers: RunningApp[] = await Promise.all(
    Array.from({ length: options.workers }, (_, index) =>
      startWorker({
        name: `worker-${index + 1}`,
        endpoints: ['tcp://127.0.0.1:*'],
        broadcastEndpoints: [prices],
        echo: options.verbose,
      }).then((worker) => {
        started.push(worker.process);
        return worker;
      }),
    ),
  );
  const workerAddresses = workers.map((worker) => worker.sockets.default[0]);
  for (const worker of workers) {
    console.log(`  ${worker.process.name}  pid ${worker.process.pid}  PULL bound on ${worker.sockets.default.join(', ')}`);
  }
  const producer = await startProducer({ endpoints: workerAddresses, broadcastEndpoints: [prices], echo: options.verbose });
  started.push(producer.process);
  console.log(`  producer  pid ${producer.process.pid}  HTTP on ${producer.url}, PUSH connected to every worker, PUB bound on ${prices}`);
  await waitForConnections(producer.url, options.workers);
  await waitForPriceSubscribers(producer.url, options.workers);

  console.log(`\nPosting ${options.orders} orders to ${producer.url}/orders, ${options.parallel} at a time...`);
  const bar = new SingleBar({ format: '  [{bar}] {value}/{total} accepted', stream: process.stderr, clearOnComplete: true });
  bar.start(options.orders, 0);
  const postingStarted = performance.now();
  const { accepted, refused } = await postOrders(producer.url, options.orders, options.parallel, sampleOrder, (_, total) =>
    bar.update(total),
  );
  const postingTime = performance.now() - postingStarted;
  bar.stop();
  if (refused.length > 0) {
    throw new Error(`${refused.length} order(s) were refused, first: ${JSON.stringify(refused[0])}`);
  }

  const processed = () => workers.reduce((sum, worker) => sum + processedOrderIds(worker.process.lines).length, 0);
  await until(
    () => processed() >= accepted.length,
    PROCESSING_TIMEOUT,
    () => `${accepted.length} processed orders (have ${processed()})`,
  );
  const processingTime = performance.now() - postingStarted;

  // One broadcast: every worker applies the new price.
  const broadcast = await postPrice(producer.url, PRICE_CHANGE.sku, PRICE_CHANGE.unitPrice);
  if (broadcast.status !== 202) {
    throw new Error(`POST /prices answered ${broadcast.status}: ${JSON.stringify(broadcast.body)}`);
  }
  const priceAt = (worker: RunningApp) => appliedPrices(worker.process.lines).find((change) => change.sku === PRICE_CHANGE.sku)?.unitPrice;
  await until(
    () => workers.every((worker) => priceAt(worker) === PRICE_CHANGE.unitPrice),
    PROCESSING_TIMEOUT,
    () => `every worker to apply the price change (${workers.filter((worker) => priceAt(worker) !== undefined).length} did)`,
  );

  // Graceful stop: each worker finishes what it runs and logs its summary; the producer closes its client.
  const apps = [...workers.map((worker) => worker.process), producer.process];
  const exits = await Promise.all(apps.map((app) => app.stop()));
  const unclean = apps.flatMap((app, index) => (exits[index].code === 0 ? [] : [`${app.name} ${JSON.stringify(exits[index])}`]));
  if (unclean.length > 0) {
    throw new Error(`Unclean exit: ${unclean.join(', ')}`);
  }

  const ids = workers.flatMap((worker) => processedOrderIds(worker.process.lines));
  const unique = new Set(ids);
  const missing = accepted.filter((order) => !unique.has(order.id));
  if (unique.size !== ids.length || missing.length > 0) {
    throw new Error(`${ids.length - unique.size} order(s) processed twice, ${missing.length} never processed`);
  }

  const table = new Table({
    head: ['worker', 'pid', 'orders', 'share', 'failed', `${PRICE_CHANGE.sku} price`],
    colAligns: ['left', 'right', 'right', 'right', 'right', 'right'],
    style: { head: [], border: [] }, // plain text: readable in CI logs too
  });
  const summaries = workers.map((worker) => workerSummary(worker.process));
  const share = (handled: number) => `${((handled / accepted.length) * 100).toFixed(1)}%`;
  // Orders per worker from its log: its summary's `handled` counts the price change too.
  const orders = workers.map((worker) => processedOrderIds(worker.process.lines).length);
  workers.forEach((worker, index) => {
    table.push([
      worker.process.name,
      worker.process.pid,
      orders[index],
      share(orders[index]),
      summaries[index].failed,
      priceAt(worker) ?? '-',
    ]);
  });
  const totalOrders = orders.reduce((sum, count) => sum + count, 0);
  const totalFailed = summaries.reduce((sum, summary) => sum + summary.failed, 0);
  table.push(['total', '', totalOrders, share(totalOrders), totalFailed, '']);
  console.log(`\n${table.toString()}\n`);
  console.log(
    `${accepted.length} orders accepted over HTTP in ${seconds(postingTime)} (${Math.round((accepted.length * 1000) / postingTime)}/s);`,
  );
  console.log(`all processed ${seconds(processingTime)} after the first POST, each exactly once.`);
  console.log(
    `Price of ${PRICE_CHANGE.sku} set to ${PRICE_CHANGE.unitPrice} with one POST /prices: broadcast to ${options.workers} worker(s), applied by every one.`,
  );
  console.log(`Every process stopped on SIGTERM with exit code 0.`);
}

async function main(): Promise<void> {
  const options = parseArguments();
  assertAppsBuilt();
  const started: AppProcess[] = [];
  const ipcDir = mkdtempSync(join(tmpdir(), 'nzmq-demo-'));
  const abort = () => void Promise.all(started.map((child) => child.kill())).then(() => process.exit(130));
  process.once('SIGINT', abort);
  try {
    await (options.crashProducer ? runCrashDemo(options, started, ipcDir) : runDemo(options, started, ipcDir));
  } catch (error) {
    console.error(`\nDemo failed: ${(error as Error).message}`);
    for (const child of started) {
      console.error(child.tail(10));
    }
    await Promise.all(started.map((child) => child.kill()));
    process.exitCode = 1;
  } finally {
    process.removeListener('SIGINT', abort);
    rmSync(ipcDir, { recursive: true, force: true });
  }
}

void main();
