import getPort from 'get-port';
import { Controller, Module, type LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { firstValueFrom } from 'rxjs';
import * as zmq from 'zeromq';
import { ZeroMqClient } from './zeromq.client.js';
import { ZeroMqSendError } from './zeromq.errors.js';
import { ZeroMqServer } from './zeromq.server.js';
import type { ZeroMqSocketEvent } from './zeromq.events.js';
import type { ZeroMqClientOptions, ZeroMqSocketKind } from './zeromq.options.js';
import { boundAddress, startWorker, type Worker } from '../test/nest-apps.js';
import { LOOPBACK_ANY_PORT } from '../test/endpoints.js';
import { within } from '../test/waiting.js';

const emit = (client: ZeroMqClient, pattern: string, data: unknown) =>
  firstValueFrom(client.emit(pattern, data), { defaultValue: undefined });

/** How an emit ended: its error, or undefined when it resolved. */
const outcome = (promise: Promise<unknown>): Promise<ZeroMqSendError | undefined> =>
  promise.then(
    () => undefined,
    (error: unknown) => error as ZeroMqSendError,
  );

describe('socket kinds that do not match, and peers that are not there', () => {
  const opened: Array<{ close(): unknown }> = [];

  afterEach(async () => {
    for (const owner of opened.splice(0).reverse()) {
      await owner.close();
    }
  });

  async function worker(kind?: ZeroMqSocketKind): Promise<Worker> {
    const started = await startWorker({ endpoints: [LOOPBACK_ANY_PORT], ...(kind ? { kind } : {}) });
    opened.push(started.app);
    return started;
  }

  function client(options: ZeroMqClientOptions): { client: ZeroMqClient; rejections: ZeroMqSocketEvent[] } {
    const made = new ZeroMqClient({ sendTimeout: 1_500, ...options });
    const rejections: ZeroMqSocketEvent[] = [];
    made.on('handshake:error', (event) => rejections.push(event));
    opened.push(made);
    return { client: made, rejections };
  }

  it.each<[ZeroMqSocketKind, string]>([
    ['pub-sub', 'XPUB'],
    ['dealer-router', 'DEALER'],
  ])('fails every emit of a %s client to a push-pull server with the cause, and none resolves', async (kind, type) => {
    const { server, received } = await worker();
    const { client: producer, rejections } = client({ kind, endpoints: [boundAddress(server)] });
    const outcomes = await Promise.all(Array.from({ length: 10 }, (_, i) => outcome(emit(producer, 'orders.created', { i }))));
    for (const error of outcomes) {
      expect(error).toBeInstanceOf(ZeroMqSendError);
      expect(error).toMatchObject({ code: 'PEER_REJECTED' });
      // The types that met, found out by asking the server (libzmq tells neither side).
      expect(error!.message).toContain(
        `the peer at ${boundAddress(server)} is a PULL socket (a server of kind 'push-pull'), and this ${type} (kind '${kind}')`,
      );
    }
    expect(received.items).toHaveLength(0);
    expect(rejections).toHaveLength(1);
    expect(rejections[0].reason).toContain('set the same kind on both sides');
    expect(producer.getMetrics()).toMatchObject({ sent: 0, failed: 10 });
  });

  it('fails an at-least-once emit at once when the push-pull server rejected the DEALER', async () => {
    const { server, received } = await worker();
    const { client: producer } = client({ kind: 'dealer-router', delivery: 'at-least-once', endpoints: [boundAddress(server)] });
    const error = await within(outcome(emit(producer, 'orders.created', {})), 5_000, 'the emit to settle');
    expect(error).toMatchObject({ code: 'PEER_REJECTED', endpoints: [boundAddress(server)] });
    expect(error!.message).toContain('is a PULL socket');
    expect(received.items).toHaveLength(0);
  });

  it('fails an at-most-once emit a DEALER queued before the push-pull server rejected it', async () => {
    // The server starts after the client gave up waiting for it: the DEALER queues the emit for the
    // connection it is making, which the server then rejects.
    const free = new zmq.Pull();
    await free.bind(LOOPBACK_ANY_PORT);
    const address = free.lastEndpoint!;
    free.close();
    const { client: producer } = client({ kind: 'dealer-router', endpoints: [address], connectTimeout: 50 });
    await producer.connect();
    const pending = outcome(emit(producer, 'orders.created', { late: true }));
    const late = await startWorker({ endpoints: [address] });
    opened.push(late.app);
    const error = await within(pending, 10_000, 'the emit to settle');
    expect(error).toMatchObject({ code: 'PEER_REJECTED' });
    expect(late.received.items).toHaveLength(0);
  });

  it('says "never connected" when nothing is bound at the address', async () => {
    // get-port resolves once its probe has closed: a ZeroMQ socket frees its port asynchronously,
    // and a client could connect to it for a moment (CI once saw "lost the connection").
    const address = `tcp://127.0.0.1:${await getPort({ host: '127.0.0.1' })}`;
    const { client: producer } = client({ endpoints: [address], sendTimeout: 500, connectTimeout: 50 });
    const error = await outcome(emit(producer, 'orders.created', {}));
    expect(error).toMatchObject({ code: 'SEND_TIMEOUT' });
    expect(error!.message).toContain(`never connected to ${address}`);
  });

  it('says "connected" and "high-water mark" when the only peer stopped reading', async () => {
    const pull = new zmq.Pull({ receiveHighWaterMark: 1 });
    opened.push(pull);
    await pull.bind(LOOPBACK_ANY_PORT);
    const { client: producer } = client({ endpoints: [pull.lastEndpoint!], sendTimeout: 300, sendHighWaterMark: 1, maxBatchSize: 1 });
    await producer.connect();
    const big = 'x'.repeat(1 << 20);
    const outcomes = await Promise.all(Array.from({ length: 64 }, () => outcome(emit(producer, 'orders.created', big))));
    const timedOut = outcomes.find((error) => error?.code === 'SEND_TIMEOUT');
    expect(timedOut?.message).toContain(`connected to ${pull.lastEndpoint!}`);
    expect(timedOut?.message).toContain('high-water mark');
  });

  it('names the kinds when a plaintext push-pull client meets a dealer-router server', async () => {
    const { server } = await worker('dealer-router');
    const { client: producer, rejections } = client({ endpoints: [boundAddress(server)] });
    const error = await outcome(emit(producer, 'orders.created', {}));
    expect(error).toMatchObject({ code: 'PEER_REJECTED' });
    expect(error!.message).toContain(
      "is a ROUTER socket (a server of kind 'dealer-router'), and this PUSH (kind 'push-pull') only talks to a PULL",
    );
    expect(rejections).toHaveLength(1);
  });

  it('says the peer may not be ZeroMQ when what listens at the address is not', async () => {
    const connections = new Set<Socket>();
    const http = createServer((socket) => {
      connections.add(socket);
      socket.end('HTTP/1.1 400 Bad Request\r\n\r\n');
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    opened.push({
      close: () =>
        new Promise<void>((resolve) => {
          connections.forEach((socket) => socket.destroy());
          http.close(() => resolve());
        }),
    });
    const address = `tcp://127.0.0.1:${(http.address() as AddressInfo).port}`;
    const { client: producer } = client({ endpoints: [address], sendTimeout: 1_000 });
    const error = await outcome(emit(producer, 'orders.created', {}));
    expect(error).toMatchObject({ code: 'SEND_TIMEOUT' });
    expect(error?.message).toContain(`connected to ${address}, but the handshake failed`);
    expect(error?.message).toContain('or the peer is not a ZeroMQ socket');
  });

  it('warns at startup about a @MessagePattern on a socket that carries no replies', async () => {
    @Controller()
    class AskingController {
      @MessagePattern<string>('ask')
      answer(@Payload() data: unknown): unknown {
        return data;
      }
    }
    const warnings: string[] = [];
    const logger: LoggerService = { log: () => undefined, error: () => undefined, warn: (line: string) => warnings.push(line) };
    @Module({ controllers: [AskingController] })
    class AskingModule {}
    const app = await NestFactory.createMicroservice(AskingModule, {
      strategy: new ZeroMqServer({ endpoints: [LOOPBACK_ANY_PORT] }),
      logger,
    });
    opened.push(app);
    await app.listen();
    expect(warnings.join('\n')).toContain(`@MessagePattern("ask") cannot answer: it arrives on socket "default" of kind 'push-pull'`);
  });
});
