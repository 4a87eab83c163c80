/**
 * `npm run bench:outbox [-- --messages 100000 --rounds 3]`: how fast a durable outbox replays after
 * a restart, against in-memory at-least-once in the same run (issue 20: replay at least as fast).
 * One process, tcp loopback, ~100 B JSON, a Nest worker on a dealer-router ZeroMqServer.
 * - replay: a producer stores `messages` while no worker is up and closes; the worker starts, and
 *   a new producer opens the same outbox: the time from its construction (the store's check and
 *   opening included) to the last handled message is the replay's.
 * - in-memory: a producer without an outbox emits `messages` at-least-once (windows of 1000 awaited
 *   emits) to the running worker, timed from the first emit to the last handled message.
 * Each runs once per round, interleaved, on fresh sockets and a fresh outbox; the table gives medians.
 */
import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Command } from 'commander';
import getPort from 'get-port';
import { markdownTable } from 'markdown-table';
import { firstValueFrom } from 'rxjs';
import { ZeroMqClient, ZeroMqServer } from 'nestjs-zeromq';
import { CountingModule, HANDLED } from './counting-module.js';
import { median } from './median.js';

const WINDOW = 1_000;
const PAYLOAD = 'x'.repeat(64);

async function startWorker(endpoint: string): Promise<INestMicroservice> {
  const server = new ZeroMqServer({ kind: 'dealer-router', endpoints: [endpoint] });
  const app = await NestFactory.createMicroservice(CountingModule, { strategy: server, logger: ['error'] });
  await app.listen();
  return app;
}

async function emitAll(client: ZeroMqClient, count: number): Promise<void> {
  for (let sent = 0; sent < count; sent += WINDOW) {
    const window = Math.min(WINDOW, count - sent);
    await Promise.all(
      Array.from({ length: window }, (_, i) =>
        firstValueFrom(client.emit('bench.event', { seq: sent + i, payload: PAYLOAD }), { defaultValue: undefined }),
      ),
    );
  }
}

async function replay(messages: number): Promise<number> {
  const directory = mkdtempSync(join(tmpdir(), 'nestjs-zeromq-bench-replay-'));
  const endpoint = `tcp://127.0.0.1:${await getPort({ host: '127.0.0.1' })}`;
  const options = { endpoints: [endpoint], delivery: 'at-least-once' as const, outbox: { path: join(directory, 'outbox') } };
  try {
    const filler = new ZeroMqClient({ ...options, connectTimeout: 0 });
    await emitAll(filler, messages);
    await filler.close();
    const app = await startWorker(endpoint);
    const done = HANDLED.reaches(HANDLED.count + messages);
    const started = performance.now();
    const restarted = new ZeroMqClient(options);
    await restarted.connect();
    await done;
    const seconds = (performance.now() - started) / 1000;
    await restarted.close();
    await app.close();
    return messages / seconds;
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

async function inMemory(messages: number): Promise<number> {
  const endpoint = `tcp://127.0.0.1:${await getPort({ host: '127.0.0.1' })}`;
  const app = await startWorker(endpoint);
  const client = new ZeroMqClient({ endpoints: [endpoint], delivery: 'at-least-once' });
  try {
    await client.connect();
    const done = HANDLED.reaches(HANDLED.count + messages);
    const started = performance.now();
    await emitAll(client, messages);
    await done;
    return messages / ((performance.now() - started) / 1000);
  } finally {
    await client.close();
    await app.close();
  }
}

async function main(): Promise<void> {
  const { messages, rounds, replayOnly } = new Command('bench:outbox')
    .option('--messages <count>', 'messages stored, then replayed, per round', (value) => Number(value), 100_000)
    .option('--rounds <count>', 'rounds', (value) => Number(value), 3)
    .option('--replay-only', 'measure the replay alone (to profile it with --cpu-prof)', false)
    .parse()
    .opts<{ messages: number; rounds: number; replayOnly: boolean }>();
  const replays: number[] = [];
  const baselines: number[] = [];
  for (let round = 1; round <= rounds; round++) {
    replays.push(await replay(messages));
    baselines.push(replayOnly ? Number.NaN : await inMemory(messages));
    console.log(
      `round ${round}: replay ${Math.round(replays.at(-1)!).toLocaleString('en')} msg/s, in-memory at-least-once ${Math.round(baselines.at(-1)!).toLocaleString('en')} msg/s`,
    );
  }
  const k = (values: number[]) => values.map((value) => `${Math.round(value / 100) / 10}k`).join(', ');
  console.log(`\n${messages.toLocaleString('en')} messages (~100 B JSON) per round, ${rounds} round(s), one process, tcp loopback\n`);
  console.log(
    markdownTable(
      [
        ['row', 'median msg/s', 'vs in-memory', 'runs'],
        [
          'replay after a restart (outbox, commit)',
          Math.round(median(replays)).toLocaleString('en'),
          (median(replays) / median(baselines)).toFixed(2),
          k(replays),
        ],
        [
          'in-memory at-least-once (emits awaited 1000 at a time)',
          Math.round(median(baselines)).toLocaleString('en'),
          '1.00',
          k(baselines),
        ],
      ],
      { align: ['l', 'r', 'r', 'l'] },
    ),
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
