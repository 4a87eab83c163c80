import { Injectable } from '@nestjs/common';

/** Jobs this worker finished, by pattern, for the shutdown summary. */
@Injectable()
export class WorkStats {
  private readonly done = new Map<string, number>();

  record(pattern: string): void {
    this.done.set(pattern, (this.done.get(pattern) ?? 0) + 1);
  }

  /** `orders.created 1500, tasks.plain 3`, or `none`. */
  describe(): string {
    return [...this.done].map(([pattern, count]) => `${pattern} ${count}`).join(', ') || 'none';
  }
}
