import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ZeroMqOutboxError } from '../../zeromq.errors.js';

/** Longest the check of an existing store may take (it reads every record once). */
const CHECK_TIMEOUT_MS = 60_000;

/**
 * Reads an existing store once in a child process before this process opens it: LMDB maps the
 * file into memory, and lmdb-js was seen to crash the process (SIGSEGV) on a damaged file. A
 * producer that crashed on it at every start would never start again; the check turns the damage
 * into a ZeroMqOutboxError at `connect()` instead. It costs one Node start (~100 ms) per connect
 * of a client whose outbox already has a file.
 */
export async function checkStoreReadable(path: string, lmdbUrl: string, what: string): Promise<void> {
  if (!existsSync(join(path, 'data.mdb'))) {
    return;
  }
  const script = `
    const { open } = await import(${JSON.stringify(lmdbUrl)});
    const root = open({ path: ${JSON.stringify(path)}, maxDbs: 64, compression: false, readOnly: true });
    let records = 0;
    for (const name of [...root.getKeys()]) {
      if (typeof name !== 'string') continue;
      const table = root.openDB({ name, encoding: 'binary', keyEncoding: 'ordered-binary' });
      for (const entry of table.getRange({})) records += entry.value.length >= 0 ? 1 : 0;
    }
    await root.close();
    process.stdout.write(String(records));`;
  await new Promise<void>((resolve, reject) => {
    execFile(process.execPath, ['--input-type=module', '-e', script], { timeout: CHECK_TIMEOUT_MS }, (error, _stdout, stderr) => {
      if (error === null) {
        resolve();
        return;
      }
      const lines = stderr.split('\n');
      const how = error.signal
        ? `the reading process died with ${error.signal}`
        : (lines.find((line) => /^\w*Error/.test(line)) ?? error.message);
      reject(
        new ZeroMqOutboxError(
          `the ${what} at ${path} cannot be opened: it is damaged or unreadable (${how}). Move the directory aside (its messages and dead letters are in it), start again with an empty one, and see docs/delivery.md, "Durable outbox"`,
        ),
      );
    });
  });
}
