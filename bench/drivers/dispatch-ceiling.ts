import { NestFactory } from '@nestjs/core';
import { BaseRpcContext, Server, type CustomTransportStrategy, type MessageHandler } from '@nestjs/microservices';
import { BENCH_PATTERN } from '../message.js';
import { BenchModule } from './bench.module.js';
import type { BenchConsumer, MessageSink, TransportDriver } from './driver.js';

/** Handlers dispatched at once, as a transport with a concurrency limit of 100 would. */
const DISPATCH_WINDOW = 100;

/** A transport strategy that does no I/O: messages enter only through `handleEvent`. */
class NoIoServer extends Server implements CustomTransportStrategy {
  listen(callback: () => void): void {
    callback();
  }

  /**
   * Exact lookup, as ZeroMqServer does. Nest's own first tries `JSON.parse(pattern)`, which throws
   * (and builds a stack trace) for every plain string pattern: a cost of that lookup, not of
   * dispatching, that would lower the ceiling below what a transport can reach.
   */
  override getHandlerByPattern(pattern: string): MessageHandler | null {
    return this.messageHandlers.get(pattern) ?? super.getHandlerByPattern(pattern);
  }

  close(): void {}

  on(): void {}

  unwrap<T>(): T {
    return this as unknown as T;
  }
}

/**
 * The Nest dispatch ceiling: `Server.handleEvent` called in a loop with the already-decoded
 * message, in the same app and handler as every other row. No I/O, no (de)serialization, and the
 * handler found by an exact lookup.
 */
export const dispatchCeilingDriver: TransportDriver = {
  window: DISPATCH_WINDOW,
  // A server dispatches at most its concurrency at once however its producer sends. (10,000
  // handleEvent calls at once ran about ten times slower per event than 100 at a time.)
  burst: 'window',
  async startConsumer(sink: MessageSink): Promise<BenchConsumer> {
    const server = new NoIoServer();
    const app = await NestFactory.createMicroservice(BenchModule.withSink(sink), {
      strategy: server,
      logger: ['error', 'warn'],
    });
    await app.listen();
    return {
      endpoint: 'in-process',
      inject: (message) => server.handleEvent(BENCH_PATTERN, { pattern: BENCH_PATTERN, data: message }, new BaseRpcContext([])),
      close: () => app.close(),
    };
  },
};
