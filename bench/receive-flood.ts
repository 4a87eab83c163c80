/**
 * `npm run bench:flood [-- --messages 200 --size 7340032 --work-ms 1000]`: a worker's memory under a
 * flood. A plain ZeroMQ PUSH sends framed events of `--size` bytes (binary) as fast as the worker takes
 * them, to a worker process (this file, forked with `--worker`) whose handlers take `--work-ms` each.
 * The worker's RSS is read from /proc (every 50 ms, and its peak since it was ready); the table gives
 * that peak above its RSS once ready (garbage V8 has not collected yet included),
 * for each receive budget, against the bound the docs give (budget + ZeroMQ's queue for the one
 * connection + one message being read). "unbounded" is the worker as it was before the budget
 * (ZeroMQ's 1000 messages per connection and reading ahead by `prefetch` only).
 */
import 'reflect-metadata';
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Controller, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventPattern } from '@nestjs/microservices';
import { Command } from 'commander';
import { markdownTable } from 'markdown-table';
import * as zmq from 'zeromq';
import { ZeroMqServer } from 'nestjs-zeromq';

const MiB = 1024 * 1024;
/** receiveBudget of the "unbounded" row: large enough never to bind. */
const UNBOUNDED = 1024 * 1024 * MiB;

interface Settings {
  messages: number;
  size: number;
  workMs: number;
  budgets: Array<number | 'unbounded'>;
}

interface Outcome {
  budget: number | 'unbounded';
  sent: number;
  handled: number;
  seconds: number;
  baselineRss: number;
  peakRss: number;
}

/** The worker side: a Nest microservice whose one handler takes `workMs`; tells the parent its address and each handled event. */
async function runWorker(): Promise<void> {
  const { budget, workMs, maxMessageSize } = JSON.parse(process.env.FLOOD_WORKER!) as {
    budget: number;
    workMs: number;
    maxMessageSize: number;
  };
  @Controller()
  class SlowController {
    @EventPattern<string>('flood')
    async handle(): Promise<void> {
      await new Promise((resolve) => setTimeout(resolve, workMs));
      process.send!('handled');
    }
  }
  @Module({ controllers: [SlowController] })
  class FloodModule {}
  const unbounded = budget === UNBOUNDED;
  const server = new ZeroMqServer({
    endpoints: ['tcp://127.0.0.1:*'],
    receiveBudget: budget,
    maxMessageSize,
    // Before the budget: ZeroMQ's queue was 1000 messages per connection.
    ...(unbounded ? { receiveHighWaterMark: 1_000 } : {}),
  });
  const app = await NestFactory.createMicroservice(FloodModule, { strategy: server, logger: ['error'] });
  await app.listen();
  process.send!({ address: server.getAddresses().default[0] });
  process.on('disconnect', () => void app.close().then(() => process.exit(0)));
}

function vm(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status);
  return match === null ? 0 : Number(match[1]) * 1024;
}

async function measure(settings: Settings, budget: number | 'unbounded'): Promise<Outcome> {
  const maxMessageSize = settings.size + 1024;
  const worker: ChildProcess = fork(fileURLToPath(import.meta.url), ['--worker'], {
    env: {
      ...process.env,
      FLOOD_WORKER: JSON.stringify({ budget: budget === 'unbounded' ? UNBOUNDED : budget, workMs: settings.workMs, maxMessageSize }),
    },
  });
  const pid = worker.pid!;
  let handled = 0;
  let address = '';
  const ready = new Promise<void>((resolve) =>
    worker.on('message', (message: unknown) => {
      if (message === 'handled') {
        handled++;
      } else {
        address = (message as { address: string }).address;
        resolve();
      }
    }),
  );
  await ready;
  // The peak (VmHWM) from here on: the worker's start-up does not count.
  writeFileSync(`/proc/${pid}/clear_refs`, '5');
  const baselineRss = vm(pid, 'VmRSS');
  let peakRss = baselineRss;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, vm(pid, 'VmRSS'))), 50);
  const push = new zmq.Push({ linger: 0, sendHighWaterMark: 2, sendTimeout: 60_000 });
  push.connect(address);
  const payload = Buffer.alloc(settings.size, 0x61);
  const started = performance.now();
  let sent = 0;
  try {
    for (; sent < settings.messages; sent++) {
      await push.send(['NZ1E', 'flood', 'b', payload]);
    }
    const deadline = Date.now() + settings.messages * settings.workMs + 60_000;
    while (handled < sent && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    clearInterval(sampler);
    peakRss = Math.max(peakRss, vm(pid, 'VmHWM'));
    push.close();
    worker.disconnect();
    await once(worker, 'exit');
  }
  return { budget, sent, handled, seconds: (performance.now() - started) / 1000, baselineRss, peakRss };
}

async function main(): Promise<void> {
  const options = new Command()
    .option('--messages <n>', 'events sent', '200')
    .option('--size <bytes>', 'payload bytes per event', String(7 * MiB))
    .option('--work-ms <ms>', 'time each handler takes', '1000')
    .option('--budgets <list>', 'receive budgets in MiB, and/or "unbounded"', '64,256,unbounded')
    .parse()
    .opts<{ messages: string; size: string; workMs: string; budgets: string }>();
  const settings: Settings = {
    messages: Number(options.messages),
    size: Number(options.size),
    workMs: Number(options.workMs),
    budgets: options.budgets.split(',').map((value) => (value === 'unbounded' ? 'unbounded' : Number(value) * MiB)),
  };
  const rows: string[][] = [];
  for (const budget of settings.budgets) {
    const outcome = await measure(settings, budget);
    const maxMessageSize = settings.size + 1024;
    const bound =
      budget === 'unbounded' ? undefined : budget + Math.max(1, Math.floor(budget / maxMessageSize)) * maxMessageSize + maxMessageSize;
    rows.push([
      budget === 'unbounded' ? 'unbounded (before)' : `${budget / MiB} MiB`,
      `${outcome.handled} / ${outcome.sent}`,
      outcome.seconds.toFixed(1),
      (outcome.baselineRss / MiB).toFixed(0),
      (outcome.peakRss / MiB).toFixed(0),
      ((outcome.peakRss - outcome.baselineRss) / MiB).toFixed(0),
      bound === undefined ? '—' : (bound / MiB).toFixed(0),
    ]);
    console.log(`budget ${rows.at(-1)![0]}: done`);
  }
  console.log(
    `\nFlood: ${settings.messages} events of ${(settings.size / MiB).toFixed(2)} MiB from a plain PUSH, handlers of ${settings.workMs} ms, one connection\n`,
  );
  console.log(
    markdownTable([
      [
        'receive budget',
        'handled / sent',
        'seconds',
        'RSS ready (MiB)',
        'peak RSS (MiB)',
        'peak above ready (MiB)',
        'bound: budget + ZeroMQ queue + 1 message (MiB)',
      ],
      ...rows,
    ]),
  );
}

if (process.argv.includes('--worker')) {
  await runWorker();
} else {
  await main();
}
