import { NestFactory } from '@nestjs/core';
import type { ClientProxy, MicroserviceOptions } from '@nestjs/microservices';
import { lastValueFrom } from 'rxjs';
import { BENCH_PATTERN, BENCH_REQUEST_PATTERN, type BenchMessage } from '../message.js';
import { BenchModule } from './bench.module.js';
import type { BenchConsumer, BenchProducer, MessageSink, ProducerPeers, TransportDriver } from './driver.js';

/**
 * Emits a Nest producer may have outstanding: enough for a transport to batch or pipeline,
 * bounded so that no queue limit is hit.
 */
export const NEST_EMIT_WINDOW = 1000;

/** A consumer app's microservice options, and how to read its endpoint once it listens. */
export interface NestServerSetup {
  options: MicroserviceOptions;
  endpoint: () => string;
}

/**
 * What the bench uses of a Nest client. Not `ClientProxy` itself: Nest's own clients (ClientTCP's
 * `_status$` of TcpStatus...) are not assignable to it under strictFunctionTypes.
 */
export type NestClient = Pick<ClientProxy, 'connect' | 'close' | 'emit' | 'send' | 'unwrap'>;

export interface NestTransportSpec<C extends NestClient> {
  /**
   * `'emit'`: events to `@EventPattern`; `'send'`: requests to `@MessagePattern`, each awaited until
   * its reply arrives.
   * @default 'emit'
   */
  call?: 'emit' | 'send';
  /** Options of the consumer's microservice; `service` is the broker URL, if any. */
  server(service: string | undefined): Promise<NestServerSetup>;
  /** The producer's client for the consumer's endpoint (broadcast rows: every subscriber's, in `peers`). */
  client(endpoint: string, peers: ProducerPeers): C;
  /**
   * Broadcast rows: resolves once `peers.subscribers` subscriptions have reached the connected
   * client (for transports that can tell; see `ProducerPeers.subscribers`).
   */
  ready?(client: C, peers: ProducerPeers): Promise<void>;
  /** See `BenchProducer.relieve`. */
  relieve?(client: C): Promise<void>;
}

/**
 * A row of any Nest transport: the consumer is a Nest microservice with the bench handlers, the
 * producer a ClientProxy whose `emit()` (or `send()`) calls are awaited `NEST_EMIT_WINDOW` at a time.
 */
export function nestTransportDriver<C extends NestClient>(spec: NestTransportSpec<C>): TransportDriver {
  return {
    window: NEST_EMIT_WINDOW,
    async startConsumer(sink: MessageSink, service?: string): Promise<BenchConsumer> {
      const setup = await spec.server(service);
      const app = await NestFactory.createMicroservice<MicroserviceOptions>(BenchModule.withSink(sink), {
        ...setup.options,
        logger: ['error', 'warn'],
      });
      await app.listen();
      return { endpoint: setup.endpoint(), close: () => app.close() };
    },
    async startProducer(endpoint: string, peers: ProducerPeers): Promise<BenchProducer> {
      const client = spec.client(endpoint, peers);
      await client.connect();
      await spec.ready?.(client, peers);
      const call =
        spec.call === 'send'
          ? (message: BenchMessage) => lastValueFrom(client.send(BENCH_REQUEST_PATTERN, message))
          : (message: BenchMessage) => lastValueFrom(client.emit(BENCH_PATTERN, message), { defaultValue: undefined });
      return {
        send: call,
        relieve: spec.relieve === undefined ? undefined : () => spec.relieve!(client),
        close: async () => {
          await client.close();
        },
      };
    },
  };
}
