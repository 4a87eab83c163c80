import { randomUUID } from 'node:crypto';
import type { INestMicroservice, LogLevel } from '@nestjs/common';
import { NestFactory, type IEntryNestModule } from '@nestjs/core';
import { lastValueFrom } from 'rxjs';
import { ZeroMqClient } from '../zeromq.client.js';
import type { ZeroMqClientOptions, ZeroMqServerOptions, ZeroMqSocketKind } from '../zeromq.options.js';
import { ZeroMqServer } from '../zeromq.server.js';

/** What `createZeroMqTestingPair` needs of a compiled `@nestjs/testing` TestingModule. */
export interface ZeroMqTestingModuleRef {
  createNestMicroservice(options: { strategy: ZeroMqServer; logger: LogLevel[] | false }): INestMicroservice;
}

/** Options of {@link createZeroMqTestingPair}. */
export interface ZeroMqTestingPairOptions {
  /**
   * The handlers under test: a module class, a dynamic module, module metadata
   * (`{ controllers: [OrdersController], providers: [...] }`), or a compiled TestingModule
   * (`await Test.createTestingModule({...}).overrideProvider(...).useValue(...).compile()`).
   */
  module: IEntryNestModule | ZeroMqTestingModuleRef;
  /**
   * `'inproc'`: both ends in this process, no port. `'tcp'`: the server binds 127.0.0.1 on a port
   * the OS chooses, as a real deployment would talk (one test file can run beside others).
   * @default 'inproc'
   */
  transport?: 'inproc' | 'tcp';
  /**
   * Socket kind of both ends; `'dealer-router'` carries `emit()` and `send()` alike.
   * @default 'dealer-router'
   */
  kind?: ZeroMqSocketKind;
  /** More server options (its endpoint and kind come from the pair). */
  server?: Omit<ZeroMqServerOptions, 'endpoints' | 'kind' | 'routes'>;
  /** More client options (its endpoint and kind come from the pair). */
  client?: Omit<ZeroMqClientOptions, 'endpoints' | 'kind' | 'routes'>;
  /**
   * Log levels of the microservice (Nest's `logger` option), or `false` for none.
   * @default ['error', 'warn']
   */
  logger?: LogLevel[] | false;
}

/** A running worker (Nest microservice on a ZeroMqServer) and a ZeroMqClient connected to it. */
export interface ZeroMqTestingPair {
  app: INestMicroservice;
  server: ZeroMqServer;
  client: ZeroMqClient;
  /** The server's address, as the client connects to it. */
  address: string;
  /** `client.emit()`, resolved once ZeroMQ has taken the event (not once a handler ran). */
  emit(pattern: string, data: unknown): Promise<void>;
  /** `client.send()`, resolved with the handler's last reply. */
  send<TResult = unknown>(pattern: string, data: unknown): Promise<TResult>;
  /** Closes the client, then the microservice. */
  close(): Promise<void>;
}

function isTestingModule(module: ZeroMqTestingPairOptions['module']): module is ZeroMqTestingModuleRef {
  return typeof (module as Partial<ZeroMqTestingModuleRef>).createNestMicroservice === 'function';
}

/**
 * Starts the handlers of `options.module` as a Nest microservice on a ZeroMqServer and connects
 * a ZeroMqClient to it, in this process: an end-to-end test of your handlers in a few lines.
 *
 * ```ts
 * import { createZeroMqTestingPair, type ZeroMqTestingPair } from 'nestjs-zeromq/testing';
 *
 * let pair: ZeroMqTestingPair;
 * beforeEach(async () => (pair = await createZeroMqTestingPair({ module: { controllers: [OrdersController] } })));
 * afterEach(() => pair.close());
 *
 * it('sums the orders', async () => {
 *   await pair.emit('orders.created', { id: 'o-1', total: 5 });
 *   expect(await pair.send('orders.totals', {})).toEqual({ orders: 1, sum: 5 });
 * });
 * ```
 * @publicApi
 */
export async function createZeroMqTestingPair(options: ZeroMqTestingPairOptions): Promise<ZeroMqTestingPair> {
  const kind = options.kind ?? 'dealer-router';
  const bindAddress = options.transport === 'tcp' ? 'tcp://127.0.0.1:*' : `inproc://nestjs-zeromq-testing-${randomUUID()}`;
  const server = new ZeroMqServer({ ...options.server, kind, endpoints: [bindAddress] });
  const settings = { strategy: server, logger: options.logger ?? (['error', 'warn'] as LogLevel[]) };
  const app = isTestingModule(options.module)
    ? options.module.createNestMicroservice(settings)
    : await NestFactory.createMicroservice(options.module, settings);
  let client: ZeroMqClient | undefined;
  try {
    await app.listen();
    const address = server.getAddresses().default[0];
    client = new ZeroMqClient({ ...options.client, kind, endpoints: [address] });
    await client.connect();
    const connected = client;
    return {
      app,
      server,
      client: connected,
      address,
      emit: (pattern, data) => lastValueFrom(connected.emit(pattern, data), { defaultValue: undefined }),
      send: <TResult>(pattern: string, data: unknown) => lastValueFrom(connected.send<TResult>(pattern, data)),
      close: async () => {
        await connected.close();
        await app.close();
      },
    };
  } catch (error) {
    await client?.close();
    await app.close();
    throw error;
  }
}
