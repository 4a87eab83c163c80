import Table from 'cli-table3';
import { join } from 'node:path';
import { sampleOrder } from '../../apps/producer/src/load/sample-orders.js';
import type { AppProcess } from './app-process.js';
import {
  postOrder,
  processedOrderIds,
  producerMetrics,
  startProducer,
  startWorker,
  until,
  waitForConnections,
  workerSummary,
  type ProducerSettings,
  type RunningApp,
  type RunningProducer,
} from './sample-apps.js';

export interface CrashDemoOptions {
  workers: number;
  orders: number;
  parallel: number;
  verbose: boolean;
}

/** PBKDF2 rounds per order: slow enough that orders wait in the outbox when the producer is killed. */
const CRASH_HASH_ITERATIONS = 60_000;
/** Bound on the wait for the workers to finish after the last order was accepted. */
const PROCESSING_TIMEOUT = 60_000;

/** What one producer process took before it ended. */
interface PostingRound {
  /** Ids of the orders answered 202. */
  accepted: string[];
  /** Requests with no answer: the producer died while they were open. */
  unanswered: number;
  /** Answers other than 202. */
  refused: number;
}

/**
 * Posts orders `from` … `to - 1` with `parallel` requests at a time; once `killAfter` orders are
 * accepted it SIGKILLs the producer, and the requests then open get no answer.
 */
async function postOrders(
  producer: RunningProducer,
  from: number,
  to: number,
  parallel: number,
  killAfter?: number,
): Promise<PostingRound> {
  const round: PostingRound = { accepted: [], unanswered: 0, refused: 0 };
  let next = from;
  let killed = false;
  const lane = async () => {
    while (next < to && !killed) {
      try {
        const result = await postOrder(producer.url, sampleOrder(next++));
        if (result.status !== 202) {
          round.refused++;
          continue;
        }
        round.accepted.push((result.body as { id: string }).id);
        if (round.accepted.length === killAfter) {
          killed = true;
          producer.process.signal('SIGKILL');
        }
      } catch {
        round.unanswered++;
      }
    }
  };
  await Promise.all(Array.from({ length: parallel }, lane));
  return round;
}

/**
 * `npm run demo -- --crash-producer`: the producer keeps a durable outbox (PRODUCER_OUTBOX_PATH,
 * at-least-once to dealer-router workers), is SIGKILLed half-way through the orders, and is
 * started again on the same outbox; it replays what was stored and not yet handled, then takes
 * the other half. Succeeds only if every order answered 202 was processed by a worker.
 */
export async function runCrashDemo(options: CrashDemoOptions, started: AppProcess[], directory: string): Promise<void> {
  console.log(
    `nestjs-zeromq demo, producer crash: ${options.workers} worker(s), 1 producer with a durable outbox, ${options.orders} orders;` +
      ` the producer is SIGKILLed half-way and started again on the same outbox\n`,
  );
  const workers: RunningApp[] = await Promise.all(
    Array.from({ length: options.workers }, (_, index) =>
      startWorker({
        name: `worker-${index + 1}`,
        endpoints: ['tcp://127.0.0.1:*'],
        hashIterations: CRASH_HASH_ITERATIONS,
        env: { WORKER_KIND: 'dealer-router' },
        echo: options.verbose,
      }).then((worker) => {
        started.push(worker.process);
        return worker;
      }),
    ),
  );
  const settings: ProducerSettings = {
    endpoints: workers.map((worker) => worker.sockets.default[0]),
    outboxPath: join(directory, 'outbox'),
    echo: options.verbose,
  };
  const start = async (name: string) => {
    const producer = await startProducer(settings, name);
    started.push(producer.process);
    await waitForConnections(producer.url, options.workers);
    console.log(`  ${name}  pid ${producer.process.pid}  HTTP on ${producer.url}, outbox in ${settings.outboxPath}`);
    return producer;
  };
  const processedIds = () => workers.flatMap((worker) => processedOrderIds(worker.process.lines));

  const half = Math.ceil(options.orders / 2);
  const first = await start('producer');
  const beforeKill = await postOrders(first, 0, options.orders, options.parallel, half);
  const killed = await first.process.exited;
  const processedAtKill = new Set(processedIds());
  const waiting = beforeKill.accepted.filter((id) => !processedAtKill.has(id)).length;
  console.log(
    `  SIGKILLed after ${beforeKill.accepted.length} accepted orders, ${waiting} of them not processed yet (the outbox held them); ` +
      `${beforeKill.unanswered} request(s) cut off with no answer; exit ${JSON.stringify(killed)}`,
  );

  const second = await start('producer-2');
  // The rest of the orders (the producer gives each its id: the indexes only vary their contents).
  const posted = beforeKill.accepted.length + beforeKill.unanswered;
  const afterRestart = await postOrders(second, posted, posted + options.orders - beforeKill.accepted.length, options.parallel);
  const accepted = [...beforeKill.accepted, ...afterRestart.accepted];
  if (beforeKill.refused + afterRestart.refused > 0) {
    throw new Error(`${beforeKill.refused + afterRestart.refused} order(s) were refused`);
  }
  await until(
    () => {
      const processed = new Set(processedIds());
      return accepted.every((id) => processed.has(id));
    },
    PROCESSING_TIMEOUT,
    () => `every accepted order to be processed (${new Set(processedIds()).size} distinct of ${accepted.length})`,
  );
  const [replayed] = await producerMetrics(second.url, ['nestjs_zeromq_client_replayed_total']);

  const apps = [...workers.map((worker) => worker.process), second.process];
  const exits = await Promise.all(apps.map((app) => app.stop()));
  const unclean = apps.flatMap((app, index) => (exits[index].code === 0 ? [] : [`${app.name} ${JSON.stringify(exits[index])}`]));
  if (unclean.length > 0) {
    throw new Error(`Unclean exit: ${unclean.join(', ')}`);
  }

  const table = new Table({
    head: ['worker', 'pid', 'orders processed', 'failed'],
    colAligns: ['left', 'right', 'right', 'right'],
    style: { head: [], border: [] },
  });
  for (const worker of workers) {
    table.push([
      worker.process.name,
      worker.process.pid,
      processedOrderIds(worker.process.lines).length,
      workerSummary(worker.process).failed,
    ]);
  }
  const ids = processedIds();
  const distinct = new Set(ids);
  console.log(`\n${table.toString()}\n`);
  console.log(
    `${accepted.length} orders accepted (202): ${beforeKill.accepted.length} before the SIGKILL, ${afterRestart.accepted.length} after the restart.`,
  );
  console.log(`The restarted producer replayed ${replayed} order(s) from its outbox.`);
  const unanswered = distinct.size - accepted.length;
  console.log(
    `Every accepted order was processed: ${distinct.size} distinct orders` +
      (unanswered > 0 ? ` (${unanswered} stored whose 202 the kill cut off)` : '') +
      `, ${ids.length - distinct.size} processed twice (at least once: a replay may repeat an order whose ack the killed producer had not yet stored).`,
  );
  console.log('Every process still running stopped on SIGTERM with exit code 0.');
}
