/**
 * Load generator: sends `orders.created` events straight over ZeroMQ (no HTTP), paced, with a
 * live progress bar on stderr and a summary on stdout.
 *
 *   npm run produce -- --count 100000 --rate 5000 --endpoints tcp://127.0.0.1:5557
 *
 * Exit code 0 when every order was sent, 1 when some failed, 2 on bad arguments.
 */
import { Logger } from '@nestjs/common';
import { SingleBar } from 'cli-progress';
import { Command, InvalidArgumentError, Option } from 'commander';
import { ZeroMqClient } from 'nestjs-zeromq';
import { lastValueFrom } from 'rxjs';
import { addressListSchema } from '../../common/src/env.js';
import { ORDER_CREATED } from '../../common/src/orders.contract.js';
import { LoadRun } from './load/load-run.js';
import { sampleOrder } from './load/sample-orders.js';
import { toOrderCreatedEvent } from './orders/create-order.request.js';
import { ordersClientOptions } from './orders/orders-client.js';

interface ProduceOptions {
  count: number;
  rate: number;
  window: number;
  endpoints: string[];
  bind: boolean;
  sendTimeout: number;
  progress: boolean;
}

function wholeNumber(min: number) {
  return (value: string): number => {
    const number = Number(value);
    if (!Number.isSafeInteger(number) || number < min) {
      throw new InvalidArgumentError(`expected a whole number ≥ ${min}, got "${value}"`);
    }
    return number;
  };
}

function addressList(value: string): string[] {
  const result = addressListSchema.safeParse(value);
  if (!result.success) {
    throw new InvalidArgumentError(result.error.issues.map((issue) => issue.message).join('; '));
  }
  return result.data;
}

function parseArguments(argv: string[]): ProduceOptions {
  return new Command('produce')
    .description('Send sample orders.created events to the workers over ZeroMQ, paced, and report the outcome.')
    .addOption(new Option('-n, --count <orders>', 'orders to send').argParser(wholeNumber(1)).default(10_000))
    .addOption(
      new Option('-r, --rate <perSecond>', 'orders started per second; 0 = as fast as workers take them')
        .argParser(wholeNumber(0))
        .default(0),
    )
    .addOption(new Option('-w, --window <orders>', 'orders waiting for ZeroMQ at most').argParser(wholeNumber(1)).default(1_000))
    .addOption(
      new Option('-e, --endpoints <addresses>', 'comma-separated worker addresses')
        .env('PRODUCER_ENDPOINTS')
        .argParser(addressList)
        .makeOptionMandatory(),
    )
    .option('-b, --bind', 'bind the addresses (workers connect) instead of connecting', false)
    .addOption(
      new Option('--send-timeout <ms>', 'ms an order may wait for a worker before it fails')
        .env('PRODUCER_SEND_TIMEOUT')
        .argParser(wholeNumber(1))
        .default(5_000),
    )
    .option('--no-progress', 'no progress bar (it is only drawn on a terminal anyway)')
    .exitOverride((error) => process.exit(error.exitCode === 0 ? 0 : 2))
    .parse(argv)
    .opts<ProduceOptions>();
}

function formatRate(count: number, ms: number): string {
  return ms > 0 ? `${Math.round((count * 1000) / ms)} msg/s` : '-';
}

async function main(): Promise<number> {
  const options = parseArguments(process.argv);
  // The transport logs failures (rate-limited); keep them on stderr, away from the summary.
  Logger.overrideLogger(['error', 'warn']);
  const client = new ZeroMqClient(
    ordersClientOptions({ endpoints: options.endpoints, bind: options.bind, sendTimeout: options.sendTimeout }),
  );
  await client.connect();

  const stop = new AbortController();
  process.once('SIGINT', () => stop.abort());
  const run = new LoadRun(
    (index) => lastValueFrom(client.emit(ORDER_CREATED, toOrderCreatedEvent(sampleOrder(index))), { defaultValue: undefined }),
    { count: options.count, rate: options.rate, window: options.window, signal: stop.signal },
  );
  const bar = new SingleBar({
    format: `${ORDER_CREATED} [{bar}] {percentage}% | {value}/{total} sent | {failed} failed | {speed} | ETA {eta_formatted}`,
    stream: process.stderr,
    hideCursor: true,
  });
  const startedAt = performance.now();
  const render = () =>
    bar.update(run.sent + run.failed, { failed: run.failed, speed: formatRate(run.sent, performance.now() - startedAt) });
  if (options.progress) {
    bar.start(options.count, 0, { failed: 0, speed: '-' });
  }
  const ticker = options.progress ? setInterval(render, 100) : undefined;

  const elapsed = await run.run();
  clearInterval(ticker);
  if (options.progress) {
    render();
    bar.stop();
  }
  const unsent = await client.close();

  const target = options.rate > 0 ? ` (asked ${options.rate}/s)` : '';
  const stopped = stop.signal.aborted ? `, stopped by SIGINT after ${run.started} of ${options.count}` : '';
  console.log(`${ORDER_CREATED} to ${options.endpoints.join(', ')}${stopped}`);
  console.log(`sent ${run.sent}, failed ${run.failed} in ${(elapsed / 1000).toFixed(2)} s: ${formatRate(run.sent, elapsed)}${target}`);
  if (run.firstError !== undefined) {
    console.log(`first failure: ${(run.firstError as Error)?.message ?? String(run.firstError)}`);
  }
  if (unsent > 0) {
    console.log(`${unsent} order(s) were still queued at close and not sent`);
  }
  return run.failed === 0 && unsent === 0 ? 0 : 1;
}

main().then(
  (code) => (process.exitCode = code),
  (error: unknown) => {
    console.error(`produce failed: ${(error as Error)?.message ?? String(error)}`);
    process.exitCode = 1;
  },
);
