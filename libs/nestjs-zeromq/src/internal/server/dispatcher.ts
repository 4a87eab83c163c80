import { settlesWithin } from '../util/deadline.js';
import { Deque } from '../util/deque.js';
import { ReceiveBudget } from './receive-budget.js';

type Task = () => Promise<unknown>;

/**
 * Runs a socket's handlers: at most `concurrency` at once, the records read ahead of them
 * (at most about `prefetch`) waiting in order. A task starts the moment a slot frees up, from the
 * finishing task's own callback, so a busy socket costs no extra turn of the event loop per
 * record. The read loop asks `room()` before it reads the next message: when the read-ahead is
 * full, or the bytes of the records held (waiting and running) fill the receive budget, it stops
 * reading, and ZeroMQ's high-water mark pushes back on the producers.
 */
export class Dispatcher {
  private runningTasks = 0;
  private readonly waiting = new Deque<Task>();
  /** The bytes of each waiting task, in the same order. */
  private readonly waitingBytes = new Deque<number>();
  private roomWaiter: (() => void) | undefined;
  private idleWaiters: Array<() => void> = [];

  /**
   * @param concurrency tasks that may run at once
   * @param prefetch tasks that may wait before the read loop pauses
   * @param budget the bytes tasks may hold before the read loop pauses
   */
  constructor(
    readonly concurrency: number,
    private readonly prefetch: number,
    readonly budget: ReceiveBudget = new ReceiveBudget(Number.MAX_SAFE_INTEGER, 0),
  ) {}

  /** Tasks running now. */
  get running(): number {
    return this.runningTasks;
  }

  /** Tasks read but not started yet. */
  get queued(): number {
    return this.waiting.length;
  }

  /** Runs `task` now if a slot is free, else when one frees up; it holds `bytes` of the budget until it ends. */
  submit(task: Task, bytes = 0): void {
    this.budget.take(bytes);
    if (this.runningTasks < this.concurrency) {
      this.start(task, bytes);
    } else {
      this.waiting.push(task);
      this.waitingBytes.push(bytes);
    }
  }

  /** Resolves when the read-ahead and the budget have room again; `undefined` (no await needed) when they have now. */
  room(): Promise<void> | undefined {
    if (this.hasRoom()) {
      return undefined;
    }
    if (this.waiting.length < this.prefetch) {
      this.budget.pauses++;
    }
    return new Promise((resolve) => (this.roomWaiter = resolve));
  }

  /** Forgets the tasks that have not started (the server is closing); returns how many. */
  dropWaiting(): number {
    const dropped = this.waiting.clear().length;
    for (const bytes of this.waitingBytes.clear()) {
      this.budget.release(bytes);
    }
    this.wakeReader();
    return dropped;
  }

  /** Resolves once nothing runs, or after `timeout` ms; tells which. */
  async idle(timeout: number): Promise<boolean> {
    if (this.runningTasks === 0) {
      return true;
    }
    return settlesWithin(new Promise<void>((resolve) => this.idleWaiters.push(resolve)), timeout);
  }

  private hasRoom(): boolean {
    return this.waiting.length < this.prefetch && this.budget.hasRoom;
  }

  private start(task: Task, bytes: number): void {
    this.runningTasks++;
    const release = () => this.finished(bytes);
    task().then(release, release);
  }

  private finished(bytes: number): void {
    this.runningTasks--;
    this.budget.release(bytes);
    const next = this.waiting.shift();
    if (next !== undefined) {
      this.start(next, this.waitingBytes.shift()!);
    } else if (this.runningTasks === 0) {
      for (const resolve of this.idleWaiters.splice(0)) {
        resolve();
      }
    }
    if (this.roomWaiter !== undefined && this.hasRoom()) {
      this.wakeReader();
    }
  }

  private wakeReader(): void {
    const wake = this.roomWaiter;
    this.roomWaiter = undefined;
    wake?.();
  }
}
