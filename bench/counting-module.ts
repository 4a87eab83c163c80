import { Controller, Module } from '@nestjs/common';
import { EventPattern } from '@nestjs/microservices';

/** Counts the `bench.event` messages a one-process bench's worker handled. */
export class HandledCounter {
  count = 0;
  private waiter: { target: number; resolve: () => void } | undefined;

  /** Resolves once `count` reaches `target` (one waiter at a time). */
  reaches(target: number): Promise<void> {
    return new Promise<void>((resolve) => {
      this.waiter = { target, resolve };
      this.check();
    });
  }

  handled(): void {
    this.count++;
    this.check();
  }

  private check(): void {
    if (this.waiter !== undefined && this.count >= this.waiter.target) {
      this.waiter.resolve();
      this.waiter = undefined;
    }
  }
}

/** The handled counter of this process's bench worker. */
export const HANDLED = new HandledCounter();

@Controller()
class CountingController {
  @EventPattern<string>('bench.event')
  count(): void {
    HANDLED.handled();
  }
}

/** A Nest module whose only handler counts `bench.event` into HANDLED. */
@Module({ controllers: [CountingController] })
export class CountingModule {}
