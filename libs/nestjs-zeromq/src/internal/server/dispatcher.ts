import { settlesWithin } from '../util/deadline.js';
import { Deque } from '../util/deque.js';

type Task = () => Promise<unknown>;

/**
 * Runs a socket's handlers: at most `concurrency` at once, the records read ahead of them
 * (at most about `prefetch`) waiting in order. A task starts the moment a slot frees up, from the
 * finishing task's own callback, so a busy socket costs no extra turn of the event loop per
 * record. The read loop asks `room()` before it reads the next message: when the read-ahead is
 * full it stops reading, and ZeroMQ's high-water mark pushes back on the producers.
 */
export class Dispatcher {
  private running = 0;
  private readonly waiting = new Deque<Task>();
  private roomWaiter: (() => void) | undefined;
  private idleWaiters: Array<() => void> = [];
  private readonly release = () => this.finished();

  /**
   * @param concurrency tasks that may run at once
   * @param prefetch tasks that may wait before the read loop pauses
   */
  constructor(
    readonly concurrency: number,
    private readonly prefetch: number,
  ) {}

  /** Tasks running now. */
  get size(): number {
    return this.running;
  }

  /** Tasks read but not started yet. */
  get queued(): number {
    return this.waiting.length;
  }

  /** Runs `task` now if a slot is free, else when one frees up. */
  submit(task: Task): void {
    if (this.running < this.concurrency) {
      this.start(task);
    } else {
      this.waiting.push(task);
    }
  }

  /** Resolves when the read-ahead has room again; `undefined` (no await needed) when it has now. */
  room(): Promise<void> | undefined {
    if (this.waiting.length < this.prefetch) {
      return undefined;
    }
    return new Promise((resolve) => (this.roomWaiter = resolve));
  }

  /** Forgets the tasks that have not started (the server is closing); returns how many. */
  dropWaiting(): number {
    const dropped = this.waiting.clear().length;
    this.wakeReader();
    return dropped;
  }

  /** Resolves once nothing runs, or after `timeout` ms; tells which. */
  async idle(timeout: number): Promise<boolean> {
    if (this.running === 0) {
      return true;
    }
    return settlesWithin(new Promise<void>((resolve) => this.idleWaiters.push(resolve)), timeout);
  }

  private start(task: Task): void {
    this.running++;
    task().then(this.release, this.release);
  }

  private finished(): void {
    this.running--;
    const next = this.waiting.shift();
    if (next !== undefined) {
      this.start(next);
      if (this.waiting.length < this.prefetch) {
        this.wakeReader();
      }
    } else if (this.running === 0) {
      for (const resolve of this.idleWaiters.splice(0)) {
        resolve();
      }
    }
  }

  private wakeReader(): void {
    const wake = this.roomWaiter;
    this.roomWaiter = undefined;
    wake?.();
  }
}
