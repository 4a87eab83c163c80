/**
 * `npm run bench:observability [-- --emits 100000 --rounds 3]`: what metrics and tracing cost on
 * the hot path. One process, tcp loopback: a Nest worker on a ZeroMqServer and a ZeroMqClient
 * emitting in windows of 1000 awaited emits, timed until the handler has seen every one. Each
 * configuration runs once per round, interleaved, on fresh sockets; the table gives the median.
 * CPU time per message (this process, user + system) is steadier than msg/s on a busy machine.
 */
import 'reflect-metadata';
import type { INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { trace } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { BasicTracerProvider, SimpleSpanProcessor, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { Command } from 'commander';
import { markdownTable } from 'markdown-table';
import { firstValueFrom } from 'rxjs';
import { ZeroMqClient, ZeroMqServer } from 'nestjs-zeromq';
import { traceZeroMqClient, traceZeroMqServer } from 'nestjs-zeromq/opentelemetry';
import { registerZeroMqClientMetrics, registerZeroMqServerMetrics } from 'nestjs-zeromq/prometheus';
import { Registry } from 'prom-client';
import { CountingModule, HANDLED } from './counting-module.js';
import { median } from './median.js';

const WINDOW = 1_000;

interface Configuration {
  name: string;
  metrics: boolean;
  tracing: boolean;
  /** A tracer provider registered (spans made and handed to a processor that drops them). */
  sdk: boolean;
}

const CONFIGURATIONS: Configuration[] = [
  { name: 'off', metrics: false, tracing: false, sdk: false },
  { name: 'metrics', metrics: true, tracing: false, sdk: false },
  { name: 'metrics + latency stamp', metrics: true, tracing: false, sdk: false },
  { name: 'tracing, no SDK registered', metrics: false, tracing: true, sdk: false },
  { name: 'tracing with an SDK', metrics: false, tracing: true, sdk: true },
];

/** Drops spans: the SDK's cost without an exporter's. */
class DiscardingExporter implements SpanExporter {
  export(_spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    done({ code: ExportResultCode.SUCCESS });
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

async function run(configuration: Configuration, emits: number): Promise<{ rate: number; cpuMicros: number }> {
  const server = new ZeroMqServer({ endpoints: ['tcp://127.0.0.1:*'], concurrency: 1_000 });
  const registry = new Registry();
  if (configuration.metrics) {
    registerZeroMqServerMetrics(server, { registry });
  }
  if (configuration.tracing) {
    traceZeroMqServer(server);
  }
  const app: INestMicroservice = await NestFactory.createMicroservice(CountingModule, { strategy: server, logger: ['error'] });
  await app.listen();
  const client = new ZeroMqClient({ endpoints: [server.getAddresses().default[0]] });
  if (configuration.metrics) {
    registerZeroMqClientMetrics(client, { registry, stampSendTime: configuration.name.includes('stamp') });
  }
  if (configuration.tracing) {
    traceZeroMqClient(client);
  }
  const provider = configuration.sdk
    ? new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(new DiscardingExporter())] })
    : undefined;
  if (provider !== undefined) {
    trace.setGlobalTracerProvider(provider);
  }
  try {
    const send = async (count: number) => {
      const done = HANDLED.reaches(HANDLED.count + count);
      for (let sent = 0; sent < count; sent += WINDOW) {
        const window = Math.min(WINDOW, count - sent);
        await Promise.all(
          Array.from({ length: window }, (_, i) =>
            firstValueFrom(client.emit('bench.event', { seq: sent + i, payload: 'x'.repeat(64) }), { defaultValue: undefined }),
          ),
        );
      }
      await done;
    };
    await send(5_000); // warm-up
    const started = performance.now();
    const cpu = process.cpuUsage();
    await send(emits);
    const seconds = (performance.now() - started) / 1000;
    const used = process.cpuUsage(cpu);
    if (configuration.metrics) {
      await registry.metrics(); // a scrape works after the run
    }
    return { rate: emits / seconds, cpuMicros: (used.user + used.system) / emits };
  } finally {
    await client.close();
    await app.close();
    if (provider !== undefined) {
      trace.disable();
      await provider.shutdown();
    }
  }
}

async function main(): Promise<void> {
  const { emits, rounds } = new Command('bench:observability')
    .option('--emits <count>', 'emits per run', (value) => Number(value), 100_000)
    .option('--rounds <count>', 'runs per configuration', (value) => Number(value), 3)
    .parse()
    .opts<{ emits: number; rounds: number }>();
  const results = new Map<string, Array<{ rate: number; cpuMicros: number }>>(
    CONFIGURATIONS.map((configuration) => [configuration.name, []]),
  );
  for (let round = 1; round <= rounds; round++) {
    for (const configuration of CONFIGURATIONS) {
      const result = await run(configuration, emits);
      results.get(configuration.name)!.push(result);
      console.log(
        `round ${round}: ${configuration.name}: ${Math.round(result.rate).toLocaleString('en')} msg/s, ${result.cpuMicros.toFixed(1)} µs CPU/msg`,
      );
    }
  }
  const rateOf = (name: string) => median(results.get(name)!.map((result) => result.rate));
  const cpuOf = (name: string) => median(results.get(name)!.map((result) => result.cpuMicros));
  const rows = CONFIGURATIONS.map(({ name }) => [
    name,
    Math.round(rateOf(name)).toLocaleString('en'),
    (rateOf(name) / rateOf('off')).toFixed(2),
    cpuOf(name).toFixed(1),
    (cpuOf('off') / cpuOf(name)).toFixed(2),
    results
      .get(name)!
      .map((result) => Math.round(result.rate / 1000) + 'k')
      .join(', '),
  ]);
  console.log(
    `\n${emits.toLocaleString('en')} emits per run (~100 B JSON), windows of ${WINDOW}, ${rounds} round(s), one process, tcp loopback\n`,
  );
  console.log(
    markdownTable([['configuration', 'median msg/s', 'vs off', 'CPU µs/msg', 'vs off (CPU)', 'msg/s runs'], ...rows], {
      align: ['l', 'r', 'r', 'r', 'r', 'l'],
    }),
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
