import { setTimeout as sleep } from 'node:timers/promises';

export interface LoadOptions {
  /** Sends to make. */
  count: number;
  /** Sends started per second; 0 starts them as fast as the window allows. */
  rate: number;
  /** Sends that may be pending at once; a full window waits for one to settle. */
  window: number;
  /** Stops starting new sends (those pending still settle). */
  signal?: AbortSignal;
}

/** Timer resolution: smaller waits are skipped and the sends go out in short bursts at the right mean rate. */
const MIN_SLEEP_MS = 2;

/**
 * Runs `send(0) … send(count - 1)` at a paced rate with at most `window` pending, counting
 * outcomes as they settle (read `sent`/`failed` any time for progress). A failed send is counted
 * and remembered, never thrown.
 */
export class LoadRun {
  sent = 0;
  failed = 0;
  started = 0;
  firstError: unknown;
  private pending = 0;
  private wake: (() => void) | undefined;

  constructor(
    private readonly send: (index: number) => Promise<unknown>,
    private readonly options: LoadOptions,
  ) {}

  /** Resolves once every started send has settled; returns the elapsed milliseconds. */
  async run(): Promise<number> {
    const { count, rate, window, signal } = this.options;
    const startedAt = performance.now();
    // Every wait ends in `continue`, so that the abort signal is checked again before a start.
    while (this.started < count && !signal?.aborted) {
      if (this.pending >= window) {
        await this.settled();
        continue;
      }
      const wait = rate > 0 ? startedAt + (this.started * 1000) / rate - performance.now() : 0;
      if (wait >= MIN_SLEEP_MS) {
        await sleep(wait);
        continue;
      }
      this.start(this.started++);
    }
    while (this.pending > 0) {
      await this.settled();
    }
    return performance.now() - startedAt;
  }

  private start(index: number): void {
    this.pending++;
    this.send(index).then(
      () => this.settle(true),
      (error: unknown) => {
        this.firstError ??= error;
        this.settle(false);
      },
    );
  }

  private settle(ok: boolean): void {
    if (ok) {
      this.sent++;
    } else {
      this.failed++;
    }
    this.pending--;
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  private settled(): Promise<void> {
    return new Promise((resolve) => (this.wake = resolve));
  }
}
