/**
 * `npm run bench:held [-- --messages 20000]`: the memory a producer holds per message that waits,
 * at-least-once for a worker's credit and at-most-once to be sent, with no worker listening (a
 * worker outage). Each payload is its own object and text, as an application's are. Each delivery
 * mode and payload size runs in a fresh process (`--expose-gc`); the table gives what the queued
 * messages add to the JavaScript heap and outside it (ZeroMQ's and the library's buffers), after a
 * full garbage collection, per message and against the payload's size.
 *
 * Why: an at-least-once message lives in the producer until its ack, for as long as an outage
 * lasts; what the producer keeps of it besides its packed bytes ages into V8's old generation and
 * is paid for in full collections (docs/performance.md, "What a waiting message holds").
 */
import { Command } from 'commander';
import getPort from 'get-port';
import { markdownTable } from 'markdown-table';
import type { Observable } from 'rxjs';
import { ZeroMqClient, type ZeroMqClientOptions } from 'nestjs-zeromq';
import { childOrMain, measureInChild } from './forked-measure.js';

const DELIVERIES = ['at-least-once', 'at-most-once'] as const;
type Delivery = (typeof DELIVERIES)[number];
const PAYLOAD_BYTES = [100, 4096, 65_536] as const;

interface HeldResult {
  heapBytes: number;
  outsideBytes: number;
  waiting: number;
}

const gc = (globalThis as { gc?: () => void }).gc;

function usage(): { heap: number; outside: number } {
  if (gc === undefined) {
    throw new Error('run with --expose-gc');
  }
  gc();
  gc();
  const { heapUsed, external } = process.memoryUsage();
  // `external` counts Buffers (their `arrayBuffers`) and what native code reports.
  return { heap: heapUsed, outside: external };
}

/** In the child: `messages` emits of `payloadBytes` each, to an address where no worker listens. */
async function measure(delivery: Delivery, payloadBytes: number, messages: number): Promise<HeldResult> {
  const port = await getPort({ host: '127.0.0.1' });
  const options: ZeroMqClientOptions = {
    endpoints: [`tcp://127.0.0.1:${port}`],
    connectTimeout: 0,
    maxQueueSize: messages + 1,
    maxQueueBytes: 2 ** 31,
    // Waiting, not failing, for the whole measurement.
    sendTimeout: 600_000,
    closeTimeout: 0,
    ...(delivery === 'at-least-once' ? { kind: 'dealer-router', delivery } : {}),
  };
  const client = new ZeroMqClient(options);
  await client.connect();
  const before = usage();
  const pending: Array<Observable<unknown>> = [];
  for (let i = 0; i < messages; i++) {
    // Each message its own object and text; the text's size makes the payload's.
    pending.push(client.emit('held', { seq: i, text: `${i}:`.padEnd(payloadBytes - 24, String.fromCharCode(97 + (i % 26))) }));
  }
  await new Promise((resolve) => setTimeout(resolve, 200));
  const after = usage();
  const waiting = client.getMetrics().queued + client.getMetrics().unacked;
  await client.close();
  if (pending.length !== messages) {
    throw new Error('lost track of the emits');
  }
  return { heapBytes: (after.heap - before.heap) / messages, outsideBytes: (after.outside - before.outside) / messages, waiting };
}

function runChild(delivery: Delivery, payloadBytes: number, messages: number): Promise<HeldResult> {
  return measureInChild<HeldResult>(import.meta.url, [delivery, String(payloadBytes), String(messages)], ['--expose-gc']);
}

const kib = (bytes: number) => `${(bytes / 1024).toFixed(2)} KiB`;

async function main(): Promise<void> {
  const { messages } = new Command('bench:held')
    .option('--messages <count>', 'messages per run (a tenth of it for 64 KiB payloads)', (value) => Number(value), 20_000)
    .parse()
    .opts<{ messages: number }>();
  const rows: string[][] = [];
  for (const delivery of DELIVERIES) {
    for (const payloadBytes of PAYLOAD_BYTES) {
      const count = payloadBytes > 4096 ? Math.ceil(messages / 10) : messages;
      const result = await runChild(delivery, payloadBytes, count);
      if (result.waiting !== count) {
        throw new Error(`${delivery}, ${payloadBytes} B: ${result.waiting} of ${count} messages were waiting`);
      }
      console.log(
        `${delivery}, ${payloadBytes} B × ${count}: heap ${kib(result.heapBytes)}, outside ${kib(result.outsideBytes)} per message`,
      );
      rows.push([
        delivery,
        payloadBytes.toLocaleString('en'),
        count.toLocaleString('en'),
        kib(result.heapBytes),
        kib(result.outsideBytes),
        `${(result.heapBytes / payloadBytes).toFixed(2)}×`,
      ]);
    }
  }
  console.log(
    `\nWhat a producer holds per waiting message, no worker listening (after a full GC; each payload its own text):\n\n` +
      markdownTable(
        [['Delivery', 'Payload bytes', 'Messages', 'JS heap per message', 'Outside the heap per message', 'Heap ÷ payload'], ...rows],
        {
          align: ['l', 'r', 'r', 'r', 'r', 'r'],
        },
      ),
  );
}

childOrMain(([delivery, payloadBytes, messages]) => measure(delivery as Delivery, Number(payloadBytes), Number(messages)), main);
