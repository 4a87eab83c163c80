import { Controller, Inject, Module, type INestMicroservice, type LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { ZeroMqContext, ZeroMqServer, type ZeroMqServerOptions } from 'nestjs-zeromq';
import { Collector } from './waiting.js';

export interface Received {
  pattern: string;
  data: unknown;
  context: ZeroMqContext;
}

export const RECEIVED = Symbol('RECEIVED');

/** Handlers for the patterns the tests send; each records what it got. */
@Controller()
export class RecordingController {
  constructor(@Inject(RECEIVED) private readonly received: Collector<Received>) {}

  @EventPattern<string>('orders.created')
  onOrder(@Payload() data: unknown, @Ctx() context: ZeroMqContext): void {
    this.received.add({ pattern: context.getPattern(), data, context });
  }

  @EventPattern({ cmd: 'audit', version: 1 })
  onAudit(@Payload() data: unknown, @Ctx() context: ZeroMqContext): void {
    this.received.add({ pattern: context.getPattern(), data, context });
  }

  @EventPattern<string>('payments.settled')
  onPayment(@Payload() data: unknown, @Ctx() context: ZeroMqContext): void {
    this.received.add({ pattern: context.getPattern(), data, context });
  }

  @EventPattern<string>('plain')
  onPlain(@Payload() data: unknown, @Ctx() context: ZeroMqContext): void {
    this.received.add({ pattern: context.getPattern(), data, context });
  }
}

export const TEST_LOG_LEVELS: LogLevel[] = process.env.TEST_LOGS ? ['log', 'warn', 'error'] : ['error'];

export interface Worker {
  app: INestMicroservice;
  server: ZeroMqServer;
  received: Collector<Received>;
}

/** A real Nest microservice on a ZeroMqServer (or this one), with RecordingController (or the given controllers). */
export async function startWorker(
  options: ZeroMqServerOptions | ZeroMqServer,
  controllers: Array<new (...args: never[]) => unknown> = [RecordingController],
): Promise<Worker> {
  const received = new Collector<Received>();

  @Module({ controllers, providers: [{ provide: RECEIVED, useValue: received }] })
  class WorkerTestModule {}

  const server = options instanceof ZeroMqServer ? options : new ZeroMqServer(options);
  const app = await NestFactory.createMicroservice(WorkerTestModule, { strategy: server, logger: TEST_LOG_LEVELS });
  await app.listen();
  return { app, server, received };
}

/** The first bound address of a server or client socket. */
export function boundAddress(owner: { getAddresses(): Record<string, string[]> }, socket = 'default'): string {
  const address = owner.getAddresses()[socket]?.[0];
  if (address === undefined) {
    throw new Error(`No address for socket "${socket}"`);
  }
  return address;
}
