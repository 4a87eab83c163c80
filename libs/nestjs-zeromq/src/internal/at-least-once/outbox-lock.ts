import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { ZeroMqOutboxError } from '../../zeromq.errors.js';

const LOCK_FILE = 'producer.lock';

/**
 * One producer process per outbox path: two would send the same stored messages twice and each
 * remove what the other still counts. The lock is a file holding the owner's pid, made with
 * O_EXCL; a lock whose pid is gone (a crashed producer) is taken over at once, so a restart after
 * SIGKILL never waits. (An mtime lock such as proper-lockfile would make that restart wait for
 * its staleness timeout.) Pids are compared on one machine: a store on a network filesystem
 * shared by two hosts is not supported (docs/delivery.md).
 */
export class OutboxLock {
  private constructor(private readonly file: string) {}

  static acquire(directory: string, what = 'outbox'): OutboxLock {
    const file = join(directory, LOCK_FILE);
    // Bounded: one try, one takeover of a stale lock, one more try.
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(file, 'wx', 0o600);
        writeSync(fd, String(process.pid));
        closeSync(fd);
        return new OutboxLock(file);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
          throw error;
        }
      }
      const owner = readOwner(file);
      if (owner !== undefined && owner !== process.pid && isAlive(owner)) {
        throw new ZeroMqOutboxError(
          `the ${what} at ${directory} is in use by process ${owner} (one process per ${what} path; stop it or give this one another path)`,
        );
      }
      // The owner is gone (or was this pid before a restart in a new container): the lock is stale.
      rmSync(file, { force: true });
    }
    throw new ZeroMqOutboxError(`the ${what} at ${directory} could not be locked: ${file} keeps reappearing`);
  }

  release(): void {
    if (readOwner(this.file) === process.pid) {
      rmSync(this.file, { force: true });
    }
  }
}

function readOwner(file: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(file, 'utf8'), 10);
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: alive, owned by another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
