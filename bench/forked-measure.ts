/** Benchmarks that measure each configuration in a fresh process: the script forks itself with `--child`. */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** Runs the script at `scriptUrl` again as a child (`--child ...args`, Node `flags`); resolves with the result it sends. */
export function measureInChild<T>(scriptUrl: string, args: readonly string[], flags: readonly string[] = []): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(scriptUrl), ['--child', ...args], { execArgv: [...flags] });
    let result: T | undefined;
    child.once('message', (message) => (result = message as T));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 && result !== undefined ? resolve(result) : reject(new Error(`child exited with ${code}`))));
  });
}

/** A forking script's entry: as a child, `measure(args)` and send its result back; else `main()`. */
export function childOrMain<T>(measure: (args: string[]) => Promise<T>, main: () => Promise<void>): void {
  if (process.argv[2] === '--child') {
    measure(process.argv.slice(3)).then(
      (result) => process.send!(result, () => process.exit(0)),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  } else {
    main().catch((error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    });
  }
}
