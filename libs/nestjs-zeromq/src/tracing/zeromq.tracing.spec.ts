import { Controller, Inject } from '@nestjs/common';
import { Ctx, EventPattern, MessagePattern, Payload, RpcException } from '@nestjs/microservices';
import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { firstValueFrom } from 'rxjs';
import { ZeroMqRecordBuilder } from '../record-builders/zeromq.record-builder.js';
import { ZeroMqClient } from '../zeromq.client.js';
import type { ZeroMqContext } from '../zeromq.context.js';
import { ZeroMqServer } from '../zeromq.server.js';
import { ipcDir, LOOPBACK_ANY_PORT } from '../../test/endpoints.js';
import { boundAddress, RECEIVED, startWorker, type Received, type Worker } from '../../test/nest-apps.js';
import { Collector, eventually } from '../../test/waiting.js';
import { traceZeroMqClient } from './client-tracing.js';
import { traceZeroMqServer } from './server-tracing.js';
import { tracingEnabled } from './tracing-support.js';

@Controller()
class TracedController {
  constructor(@Inject(RECEIVED) private readonly received: Collector<Received>) {}

  @EventPattern<string>('noted')
  noted(@Payload() data: unknown, @Ctx() context: ZeroMqContext): void {
    this.received.add({ pattern: context.getPattern(), data, context });
  }

  @MessagePattern('refuse')
  refuse(): never {
    throw new RpcException({ status: 'error', message: 'not allowed' });
  }
}

describe('OpenTelemetry tracing (nestjs-zeromq/opentelemetry) in one process', () => {
  const workers: Worker[] = [];
  const clients: ZeroMqClient[] = [];
  const ipc = ipcDir();
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close()));
    await Promise.all(workers.splice(0).map((worker) => worker.app.close()));
  });
  afterAll(() => ipc.cleanup());

  const setup = async () => {
    const server = new ZeroMqServer({ endpoints: [LOOPBACK_ANY_PORT], kind: 'dealer-router' });
    traceZeroMqServer(server);
    const worker = await startWorker(server, [TracedController]);
    workers.push(worker);
    const client = new ZeroMqClient({ endpoints: [boundAddress(server)], kind: 'dealer-router' });
    traceZeroMqClient(client);
    clients.push(client);
    return { worker, client };
  };

  describe('without an SDK', () => {
    it('does no work: nothing is added to the message, handlers run as before', async () => {
      expect(tracingEnabled()).toBe(false);
      const { worker, client } = await setup();
      await firstValueFrom(client.emit('noted', { id: 1 }), { defaultValue: undefined });
      const [received] = await worker.received.waitFor(1);
      expect(received.data).toEqual({ id: 1 });
      expect(received.context.getMetadata()).toBeUndefined();
    });
  });

  describe('with an SDK', () => {
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    beforeAll(() => {
      trace.setGlobalTracerProvider(provider);
      propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    });
    afterAll(async () => {
      await provider.shutdown();
      trace.disable();
      propagation.disable();
      context.disable();
    });
    beforeEach(() => exporter.reset());
    const finished = (name: string) => exporter.getFinishedSpans().find((span) => span.name === name);

    it("carries traceparent in the metadata next to a record's own headers", async () => {
      expect(tracingEnabled()).toBe(true);
      const { worker, client } = await setup();
      const record = new ZeroMqRecordBuilder({ id: 2 }).setHeaders({ tenant: 'acme' }).build();
      await firstValueFrom(client.emit('noted', record), { defaultValue: undefined });
      const [received] = await worker.received.waitFor(1);
      const producer = finished('emit noted')!;
      expect(received.data).toEqual({ id: 2 });
      expect(received.context.getMetadata()).toEqual({
        tenant: 'acme',
        traceparent: `00-${producer.spanContext().traceId}-${producer.spanContext().spanId}-01`,
      });
      await eventually(
        () => finished('process noted'),
        (span) => span !== undefined,
      );
      expect(finished('process noted')!.parentSpanContext?.spanId).toBe(producer.spanContext().spanId);
    });

    it('marks a failed emit (no worker took it) and a refused request as errors', async () => {
      const { client } = await setup();
      await expect(firstValueFrom(client.send('refuse', {}))).rejects.toEqual({ status: 'error', message: 'not allowed' });
      const requester = finished('send refuse')!;
      expect(requester.kind).toBe(SpanKind.CLIENT);
      expect(requester.status).toEqual({ code: SpanStatusCode.ERROR, message: 'not allowed' });
      await eventually(
        () => finished('process refuse'),
        (span) => span !== undefined,
      );
      expect(finished('process refuse')).toMatchObject({
        kind: SpanKind.SERVER,
        status: { code: SpanStatusCode.ERROR, message: 'not allowed' },
      });

      const lonely = new ZeroMqClient({ endpoints: [ipc.address('nobody')], sendTimeout: 100 });
      clients.push(lonely);
      traceZeroMqClient(lonely);
      await expect(firstValueFrom(lonely.emit('noted', {}), { defaultValue: undefined })).rejects.toMatchObject({ code: 'SEND_TIMEOUT' });
      const producer = finished('emit noted')!;
      expect(producer.kind).toBe(SpanKind.PRODUCER);
      expect(producer.status.code).toBe(SpanStatusCode.ERROR);
      expect(producer.attributes['error.type']).toBe('SEND_TIMEOUT');
      expect(producer.events.map((event) => event.name)).toEqual(['exception']);
    });
  });
});
