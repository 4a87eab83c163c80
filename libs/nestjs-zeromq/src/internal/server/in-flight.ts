import { settlesWithin } from '../util/deadline.js';

/**
 * Counts running tasks against a limit: `slot()` waits while the limit is reached and
 * `idle()` waits until none runs. The server's read loop uses one per socket, so a busy
 * socket stops reading and ZeroMQ's high-water mark pushes back on producers.
 */
export class InFlight {
  private running = 0;
  private slotWaiters: Array<() => void> = [];
  private idleWaiters: Array<() => void> = [];

  /** @param limit tasks that may run at once (a dealer-router socket also announces it as its credit) */
  constructor(readonly limit: number) {}

  get size(): number {
    return this.running;
  }

  /** Resolves when a task may start; `undefined` (no await needed) when one may start now. */
  slot(): Promise<void> | undefined {
    if (this.running < this.limit) {
      return undefined;
    }
    return new Promise((resolve) => this.slotWaiters.push(resolve));
  }

  /** Counts `task` as running until it settles. */
  track(task: Promise<unknown>): void {
    this.running++;
    const release = () => this.release();
    void task.then(release, release);
  }

  /** Resolves once nothing runs, or after `timeout` ms; tells which. */
  async idle(timeout: number): Promise<boolean> {
    if (this.running === 0) {
      return true;
    }
    return settlesWithin(new Promise<void>((resolve) => this.idleWaiters.push(resolve)), timeout);
  }

  private release(): void {
    this.running--;
    this.slotWaiters.shift()?.();
    if (this.running === 0) {
      for (const resolve of this.idleWaiters.splice(0)) {
        resolve();
      }
    }
  }
}
