import { AppProcess, type AppProcessOptions, type ExitStatus } from '../../scripts/lib/app-process.js';
import {
  startProducer,
  startWorker,
  type ProducerSettings,
  type RunningApp,
  type RunningProducer,
  type WorkerSettings,
} from '../../scripts/lib/sample-apps.js';

/**
 * Starts the built sample apps (and other commands) as child processes and SIGKILLs whatever is
 * still running after each test, passed or failed. Call once at the top of a describe block.
 */
export function childApps() {
  const started: AppProcess[] = [];
  afterEach(async () => {
    await Promise.all(started.splice(0).map((child) => child.kill()));
  });
  const track = <T extends RunningApp>(app: T): T => {
    started.push(app.process);
    return app;
  };
  return {
    worker: async (settings: WorkerSettings): Promise<RunningApp> => track(await startWorker(settings)),
    producer: async (settings: ProducerSettings): Promise<RunningProducer> => track(await startProducer(settings)),
    command: (name: string, command: string, args: string[], options?: AppProcessOptions): AppProcess => {
      const child = new AppProcess(name, command, args, options);
      started.push(child);
      return child;
    },
  };
}

/** Waits for `exit` (default: the process's own exit) and fails with the last output unless it was code 0. */
export async function expectCleanExit(child: AppProcess, exit: Promise<ExitStatus> = child.exited): Promise<void> {
  const status = await exit;
  if (status.code !== 0 || status.signal !== null) {
    throw new Error(`${child.name} exited with code ${status.code}, signal ${status.signal}; last output:\n${child.tail(40)}`);
  }
}
