import { Controller, Inject, type Logger } from '@nestjs/common';
import { Ctx, EventPattern, Payload, RpcException } from '@nestjs/microservices';
import { jest } from '@jest/globals';
import type { ZeroMqContext } from '../src/zeromq.context.js';
import type { ZeroMqDeadLetter } from '../src/zeromq.events.js';
import type { ZeroMqServerOptions } from '../src/zeromq.options.js';
import { ZeroMqServer } from '../src/zeromq.server.js';
import { HandProducer } from './hand-producer.js';
import { boundAddress, RECEIVED, startWorker, type Received, type Worker } from './nest-apps.js';
import { LOOPBACK_ANY_PORT } from './endpoints.js';
import type { Collector } from './waiting.js';

/** Jobs that succeed, fail with an RpcException ('jobs.rpc-failure') or with an Error Nest hides ('jobs.plain-failure'). */
@Controller()
export class JobsController {
  constructor(@Inject(RECEIVED) private readonly received: Collector<Received>) {}

  @EventPattern<string>('jobs')
  job(@Payload() data: { seq: number }, @Ctx() context: ZeroMqContext): void {
    this.received.add({ pattern: 'jobs', data, context });
  }

  @EventPattern<string>('jobs.rpc-failure')
  rpcFailure(@Payload() data: { seq: number }): never {
    throw new RpcException(`job ${data.seq} is not possible`);
  }

  @EventPattern<string>('jobs.plain-failure')
  plainFailure(@Payload() data: { seq: number }): never {
    throw new Error(`job ${data.seq} broke`);
  }
}

/** A dealer-router worker whose warnings, errors and dead letters are kept, with a hand producer connected to it. */
export interface WatchedRouterWorker extends Worker {
  warnings: string[];
  errors: string[];
  deadLetters: ZeroMqDeadLetter[];
  producer: HandProducer;
}

/**
 * Starts a dealer-router worker with `controllers` (the caller closes `app` and `producer`) and
 * connects a HandProducer that says hello (unless `hello` is false: requests need none);
 * `prepare` sees the server before it listens (hooks, handlers added by hand).
 */
export async function startRouterWorker(
  options: Omit<ZeroMqServerOptions, 'endpoints' | 'kind'>,
  controllers: Array<new (...args: never[]) => unknown>,
  { hello = true, prepare = () => {} }: { hello?: boolean; prepare?: (server: ZeroMqServer) => void } = {},
): Promise<WatchedRouterWorker> {
  const server = new ZeroMqServer({ endpoints: [LOOPBACK_ANY_PORT], kind: 'dealer-router', logInterval: 0, ...options });
  const logger = (server as unknown as { logger: Logger }).logger;
  const warnings: string[] = [];
  const errors: string[] = [];
  jest.spyOn(logger, 'warn').mockImplementation((line: unknown) => void warnings.push(String(line)));
  jest.spyOn(logger, 'error').mockImplementation((line: unknown) => void errors.push(String(line)));
  const deadLetters: ZeroMqDeadLetter[] = [];
  server.on('dead-letter', (letter) => deadLetters.push(letter));
  prepare(server);
  const worker = await startWorker(server, controllers);
  const producer = new HandProducer();
  try {
    await producer.connect(boundAddress(server), hello);
  } catch (error) {
    producer.close();
    await worker.app.close();
    throw error;
  }
  return { ...worker, warnings, errors, deadLetters, producer };
}
