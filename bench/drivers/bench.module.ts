import { Controller, Inject, Module, type DynamicModule } from '@nestjs/common';
import { EventPattern, MessagePattern, Payload } from '@nestjs/microservices';
import { BENCH_PATTERN, BENCH_REQUEST_PATTERN, type BenchMessage } from '../message.js';
import type { MessageSink } from './driver.js';

const SINK = Symbol('BENCH_SINK');

/** The consumer's handlers: what a user's `@EventPattern` / `@MessagePattern` methods look like, doing nothing but counting. */
@Controller()
class BenchController {
  constructor(@Inject(SINK) private readonly sink: MessageSink) {}

  @EventPattern<string>(BENCH_PATTERN)
  handle(@Payload() message: BenchMessage): void {
    this.sink(message);
  }

  /** Answers with the sequence number: a small reply. */
  @MessagePattern(BENCH_REQUEST_PATTERN)
  answer(@Payload() message: BenchMessage): number {
    this.sink(message);
    return message.s;
  }
}

/** The consumer app of every Nest row. */
@Module({})
export class BenchModule {
  static withSink(sink: MessageSink): DynamicModule {
    return {
      module: BenchModule,
      controllers: [BenchController],
      providers: [{ provide: SINK, useValue: sink }],
    };
  }
}
