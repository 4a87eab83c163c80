import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

/** One line a child printed: a JSON log line (`LOG_FORMAT=json`) is parsed, any other kept as text. */
export interface OutputLine {
  stream: 'stdout' | 'stderr';
  /** Nest log level for JSON lines; `text` otherwise. */
  level: string;
  /** The log message, or the whole line for text output. */
  message: string;
  /** Nest log context (`Worker`, `OrdersService`, ...), if any. */
  context?: string;
}

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface AppProcessOptions {
  /** Extra environment (added to this process's). */
  env?: Record<string, string>;
  /** Runs the command inside this network namespace (`ip netns exec`). */
  netns?: string;
  /** Prints each line, prefixed with the name, as it arrives. */
  echo?: boolean;
  /** Working directory of the command (default: this process's). */
  cwd?: string;
}

type Waiter = { test: (line: OutputLine) => boolean; resolve: (line: OutputLine) => void; reject: (error: Error) => void };

/**
 * A child process whose output is kept line by line: wait for a line (with a timeout, failing
 * early if the process exits), count lines, signal it, stop it. `stop()` and `kill()` are safe to
 * call on a process that has already exited.
 */
export class AppProcess {
  readonly lines: OutputLine[] = [];
  readonly exited: Promise<ExitStatus>;
  private readonly child: ChildProcess;
  private waiters: Waiter[] = [];
  private exitStatus: ExitStatus | undefined;

  constructor(
    readonly name: string,
    command: string,
    args: readonly string[],
    options: AppProcessOptions = {},
  ) {
    const [file, argv] = options.netns === undefined ? [command, args] : ['ip', ['netns', 'exec', options.netns, command, ...args]];
    this.child = spawn(file, argv, { cwd: options.cwd, env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    for (const stream of ['stdout', 'stderr'] as const) {
      createInterface({ input: this.child[stream]!, crlfDelay: Infinity }).on('line', (text) => {
        this.add(parseLine(stream, text), options.echo === true);
      });
    }
    // 'close' (not 'exit') so that every line has been read when `exited` resolves.
    this.exited = new Promise((resolve) => {
      this.child.once('error', (error) => {
        this.exitStatus ??= { code: -1, signal: null };
        this.add({ stream: 'stderr', level: 'error', message: `cannot start ${command}: ${error.message}` }, true);
        this.rejectWaiters();
        resolve(this.exitStatus);
      });
      this.child.once('close', (code, signal) => {
        this.exitStatus ??= { code, signal };
        this.rejectWaiters();
        resolve(this.exitStatus);
      });
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get running(): boolean {
    return this.exitStatus === undefined;
  }

  /** Resolves with the first line (already printed or to come) that passes `test`. */
  waitFor(test: (line: OutputLine) => boolean, timeoutMs: number, what: string): Promise<OutputLine> {
    const found = this.lines.find(test);
    if (found !== undefined) {
      return Promise.resolve(found);
    }
    if (!this.running) {
      return Promise.reject(this.failure(`exited before ${what}`));
    }
    return new Promise<OutputLine>((resolve, reject) => {
      const waiter: Waiter = {
        test,
        resolve: (line) => {
          clearTimeout(timer);
          resolve(line);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(new Error(`${error.message}\n(while waiting for ${what})`));
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((other) => other !== waiter);
        reject(this.failure(`no ${what} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** Lines that pass `test`. */
  matching(test: (line: OutputLine) => boolean): OutputLine[] {
    return this.lines.filter(test);
  }

  signal(signal: NodeJS.Signals): void {
    if (this.running) {
      this.child.kill(signal);
    }
  }

  /** Sends `signal` and waits for the exit; SIGKILL if it has not exited within `timeoutMs`. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 15_000): Promise<ExitStatus> {
    this.signal(signal);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), timeoutMs)));
    const outcome = await Promise.race([this.exited, deadline]);
    clearTimeout(timer);
    if (outcome === 'late') {
      this.signal('SIGKILL');
      await this.exited;
      throw this.failure(`did not exit within ${timeoutMs} ms of ${signal}; killed`);
    }
    return outcome;
  }

  /** SIGKILL (if still running) and wait for the exit. */
  async kill(): Promise<ExitStatus> {
    this.signal('SIGKILL');
    return this.exited;
  }

  /** The last `count` lines, for error messages. */
  tail(count = 20): string {
    return this.lines
      .slice(-count)
      .map((line) => `  [${this.name} ${line.stream}] ${line.level === 'text' ? '' : `${line.level} `}${line.message}`)
      .join('\n');
  }

  private failure(reason: string): Error {
    const status = this.exitStatus === undefined ? '' : ` (exit code ${this.exitStatus.code}, signal ${this.exitStatus.signal})`;
    return new Error(`${this.name}: ${reason}${status}; last output:\n${this.tail()}`);
  }

  private add(line: OutputLine, echo: boolean): void {
    this.lines.push(line);
    if (echo) {
      console.log(`[${this.name}] ${line.message}`);
    }
    this.waiters = this.waiters.filter((waiter) => {
      if (waiter.test(line)) {
        waiter.resolve(line);
        return false;
      }
      return true;
    });
  }

  private rejectWaiters(): void {
    for (const waiter of this.waiters.splice(0)) {
      waiter.reject(this.failure('exited'));
    }
  }
}

function parseLine(stream: OutputLine['stream'], text: string): OutputLine {
  if (text.startsWith('{')) {
    try {
      const parsed = JSON.parse(text) as { level?: unknown; message?: unknown; context?: unknown };
      if (typeof parsed.level === 'string' && parsed.message !== undefined) {
        return {
          stream,
          level: parsed.level,
          message: typeof parsed.message === 'string' ? parsed.message : JSON.stringify(parsed.message),
          context: typeof parsed.context === 'string' ? parsed.context : undefined,
        };
      }
    } catch {
      // Not a log line: kept as text below.
    }
  }
  return { stream, level: 'text', message: text };
}
