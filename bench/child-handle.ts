import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ChildMessage, ParentMessage } from './protocol.js';
import { rowPattern } from './rows.js';

const CHILD_SCRIPT = fileURLToPath(new URL('./child.js', import.meta.url));
const STDERR_TAIL_CHARS = 4000;
const EXIT_TIMEOUT_MS = 5_000;
/** How long a child may take to start its transport (Nest app, sockets, broker connection). */
export const OPEN_TIMEOUT_MS = 20_000;

type Reply<T extends ChildMessage['type']> = Extract<ChildMessage, { type: T }>;

interface Waiter {
  accepts: (message: ChildMessage) => boolean;
  resolve: (message: ChildMessage) => void;
  reject: (error: Error) => void;
}

/**
 * One benchmark child process (bench/child.ts) seen from the coordinator: send it commands,
 * await its replies with a timeout each; its exit fails whatever is still awaited.
 */
export class ChildHandle {
  private readonly child: ChildProcess;
  private readonly unclaimed: ChildMessage[] = [];
  private readonly waiters = new Set<Waiter>();
  private stderrTail = '';
  private exitError: Error | undefined;
  private readonly exited: Promise<void>;

  constructor(
    readonly role: 'consumer' | 'producer',
    rowId: string,
    execArgv: string[],
    private readonly echo: boolean,
    env: Readonly<Record<string, string>> = {},
  ) {
    this.child = fork(CHILD_SCRIPT, [role, rowId], {
      execArgv,
      env: { ...process.env, ...env, BENCH_PATTERN: rowPattern(rowId) },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'json',
    });
    const keep = (chunk: Buffer) => {
      this.stderrTail = (this.stderrTail + chunk.toString('utf8')).slice(-STDERR_TAIL_CHARS);
      if (this.echo) {
        process.stderr.write(`[${role}] ${chunk.toString('utf8')}`);
      }
    };
    this.child.stdout!.on('data', keep);
    this.child.stderr!.on('data', keep);
    this.child.on('message', (message: ChildMessage) => this.deliver(message));
    this.exited = new Promise((resolve) => this.child.once('exit', () => resolve()));
    this.child.on('exit', (code, signal) => {
      this.exitError ??= new Error(`${role} process exited (${signal ?? `code ${code}`})${this.describeTail()}`);
      for (const waiter of this.waiters) {
        waiter.reject(this.exitError);
      }
      this.waiters.clear();
    });
  }

  send(message: ParentMessage): void {
    if (this.exitError === undefined && this.child.connected) {
      this.child.send(message);
    }
  }

  /** The next reply of `type` (matching `accepts`), or an error after `timeoutMs` or on exit. */
  next<T extends ChildMessage['type']>(
    type: T,
    timeoutMs: number,
    accepts: (message: Reply<T>) => boolean = () => true,
  ): Promise<Reply<T>> {
    const matches = (message: ChildMessage): boolean => message.type === type && accepts(message as Reply<T>);
    const index = this.unclaimed.findIndex(matches);
    if (index >= 0) {
      return Promise.resolve(this.unclaimed.splice(index, 1)[0] as Reply<T>);
    }
    if (this.exitError !== undefined) {
      return Promise.reject(this.exitError);
    }
    return new Promise<Reply<T>>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`${this.role} did not answer "${type}" within ${timeoutMs} ms${this.describeTail()}`));
      }, timeoutMs);
      const waiter: Waiter = {
        accepts: matches,
        resolve: (message) => {
          clearTimeout(timer);
          resolve(message as Reply<T>);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      this.waiters.add(waiter);
    });
  }

  /** Sends `message` and awaits the reply of `type`. */
  request<T extends ChildMessage['type']>(message: ParentMessage, type: T, timeoutMs: number): Promise<Reply<T>> {
    const reply = this.next(type, timeoutMs);
    this.send(message);
    return reply;
  }

  /** Asks the child to close and exit; kills it (by its own pid) if it does not in time. */
  async close(timeoutMs: number): Promise<number | undefined> {
    if (this.exitError !== undefined) {
      return undefined;
    }
    let peakRssBytes: number | undefined;
    try {
      peakRssBytes = (await this.request({ type: 'close' }, 'closed', timeoutMs)).peakRssBytes;
    } finally {
      const timer = setTimeout(() => this.child.kill('SIGKILL'), EXIT_TIMEOUT_MS);
      await this.exited;
      clearTimeout(timer);
    }
    return peakRssBytes;
  }

  /** Stops (SIGSTOP) or resumes (SIGCONT) the child: a frozen peer. */
  pause(paused: boolean): void {
    this.child.kill(paused ? 'SIGSTOP' : 'SIGCONT');
  }

  /** Ends the child now (after a failure elsewhere in its row); resolves once it has exited. */
  kill(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGKILL');
    }
    return this.exited;
  }

  private deliver(message: ChildMessage): void {
    if (message.type === 'failed') {
      this.exitError = new Error(`${this.role} failed: ${message.message}`);
      for (const waiter of this.waiters) {
        waiter.reject(this.exitError);
      }
      this.waiters.clear();
      return;
    }
    for (const waiter of this.waiters) {
      if (waiter.accepts(message)) {
        this.waiters.delete(waiter);
        waiter.resolve(message);
        return;
      }
    }
    this.unclaimed.push(message);
  }

  private describeTail(): string {
    const tail = this.stderrTail.trim();
    return tail === '' ? '' : `; last output:\n${tail}`;
  }
}
