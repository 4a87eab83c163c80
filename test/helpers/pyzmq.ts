import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from '../../scripts/lib/sample-apps.js';

/** Debian's python3-zmq installs into the system Python; a pyenv `python3` on PATH may lack it. */
export const PYTHON = process.env.PYZMQ_PYTHON ?? '/usr/bin/python3';
export const PYTHON_EXAMPLES = join(REPO_ROOT, 'examples/interop/python');

/** Why the pyzmq tests cannot run here, or undefined when they can. */
export function pyzmqMissing(): string | undefined {
  try {
    execFileSync(PYTHON, ['-c', 'import zmq'], { stdio: 'pipe', timeout: 10_000 });
    return undefined;
  } catch (error) {
    return `${PYTHON} cannot import zmq (${(error as Error).message.split('\n')[0]}); install python3-zmq (.ci/run does) or set PYZMQ_PYTHON`;
  }
}
