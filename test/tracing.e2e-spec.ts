import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { firstValueFrom } from 'rxjs';
import * as zmq from 'zeromq';
import { ZeroMqClient } from 'nestjs-zeromq';
import { traceZeroMqClient } from 'nestjs-zeromq/opentelemetry';
import { AppProcess, type OutputLine } from '../scripts/lib/app-process.js';
import { expectCleanExit } from './helpers/child-apps.js';

const TRACED_WORKER = 'dist/test/fixtures/traced-worker.js';

/** A span as the worker printed it. */
interface WorkerSpan {
  name: string;
  kind: SpanKind;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  status: { code: SpanStatusCode; message?: string };
  attributes: Record<string, unknown>;
  events: string[];
}

const isSpan = (name: string) => (line: OutputLine) => line.message.startsWith(`span {"name":"${name}"`);
const spanOf = (line: OutputLine) => JSON.parse(line.message.slice('span '.length)) as WorkerSpan;

describe('OpenTelemetry across two processes: producer here, traced worker in a child process', () => {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  let worker: AppProcess;
  let client: ZeroMqClient;
  let workerAddress: string;

  beforeAll(async () => {
    trace.setGlobalTracerProvider(provider);
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    worker = new AppProcess('traced-worker', process.execPath, [TRACED_WORKER], { env: { TRACED_WORKER_ENDPOINT: 'tcp://127.0.0.1:*' } });
    const ready = await worker.waitFor((line) => line.message.startsWith('ready '), 15_000, 'the ready line');
    workerAddress = ready.message.slice('ready '.length);
    client = new ZeroMqClient({ endpoints: [workerAddress], kind: 'dealer-router' });
    traceZeroMqClient(client);
  });
  afterAll(async () => {
    await client?.close();
    if (worker !== undefined) {
      await expectCleanExit(worker, worker.stop());
    }
    await provider.shutdown();
    trace.disable();
    propagation.disable();
    context.disable();
  });
  beforeEach(() => exporter.reset());

  it('one trace spans the caller, the producer span here and the consumer span and its child in the worker', async () => {
    const caller = trace.getTracer('test').startSpan('POST /orders');
    await context.with(trace.setSpan(context.active(), caller), () =>
      firstValueFrom(client.emit('orders.created', { id: 1 }), { defaultValue: undefined }),
    );
    caller.end();
    const consumer = spanOf(await worker.waitFor(isSpan('process orders.created'), 10_000, 'the consumer span'));
    const child = spanOf(worker.matching(isSpan('store order'))[0]);
    const producer = exporter.getFinishedSpans().find((span) => span.name === 'emit orders.created')!;

    expect(producer.kind).toBe(SpanKind.PRODUCER);
    expect(producer.parentSpanContext?.spanId).toBe(caller.spanContext().spanId);
    expect(producer.attributes).toMatchObject({
      'messaging.system': 'zeromq',
      'messaging.destination.name': 'orders.created',
      'messaging.operation.type': 'send',
    });
    expect(consumer).toMatchObject({
      kind: SpanKind.CONSUMER,
      traceId: caller.spanContext().traceId,
      parentSpanId: producer.spanContext().spanId,
      status: { code: SpanStatusCode.UNSET },
      attributes: { 'messaging.system': 'zeromq', 'messaging.destination.name': 'orders.created', 'messaging.operation.type': 'process' },
    });
    expect(child).toMatchObject({ traceId: caller.spanContext().traceId, parentSpanId: consumer.spanId });
  });

  it('marks the consumer span of a failing handler with ERROR and the exception', async () => {
    await firstValueFrom(client.emit('orders.fail', { id: 2 }), { defaultValue: undefined });
    const consumer = spanOf(await worker.waitFor(isSpan('process orders.fail'), 10_000, 'the failed consumer span'));
    const producer = exporter.getFinishedSpans().find((span) => span.name === 'emit orders.fail')!;
    expect(consumer).toMatchObject({
      traceId: producer.spanContext().traceId,
      parentSpanId: producer.spanContext().spanId,
      status: { code: SpanStatusCode.ERROR, message: 'Internal server error' },
      events: ['exception'],
    });
    // The emit itself succeeded: ZeroMQ took it.
    expect(producer.status.code).toBe(SpanStatusCode.UNSET);
  });

  it('a request: CLIENT span here, SERVER span there, one trace, the reply unchanged', async () => {
    expect(await firstValueFrom(client.send('quote', [1, 2, 3]))).toBe(6);
    const server = spanOf(await worker.waitFor(isSpan('process quote'), 10_000, 'the server span'));
    const requester = exporter.getFinishedSpans().find((span) => span.name === 'send quote')!;
    expect(requester.kind).toBe(SpanKind.CLIENT);
    expect(server).toMatchObject({
      kind: SpanKind.SERVER,
      traceId: requester.spanContext().traceId,
      parentSpanId: requester.spanContext().spanId,
    });
  });

  it('a plain ZeroMQ peer without metadata still gets through, in a trace of its own', async () => {
    const peer = new zmq.Dealer({ linger: 0 });
    try {
      peer.connect(workerAddress);
      await peer.send('hello from a plain peer');
      await worker.waitFor((line) => line.message === 'plain hello from a plain peer', 10_000, 'the plain message');
      const consumer = spanOf(await worker.waitFor(isSpan('process plain'), 10_000, 'the plain consumer span'));
      expect(consumer.parentSpanId).toBeUndefined();
      expect(consumer.status.code).toBe(SpanStatusCode.UNSET);
    } finally {
      peer.close();
    }
  });
});
