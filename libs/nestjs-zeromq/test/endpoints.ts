import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';

/** A directory for ipc sockets, removed by `cleanup()`. */
export function ipcDir(): { address: (name: string) => string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'nzmq-'));
  return {
    address: (name) => `ipc://${join(dir, `${name}.sock`)}`,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** A unique inproc address (same process only). */
export function inprocAddress(name = 'test'): string {
  return `inproc://${name}-${randomUUID()}`;
}

/** A bind address on loopback with an OS-chosen port; read the real one from getAddresses(). */
export const LOOPBACK_ANY_PORT = 'tcp://127.0.0.1:*';
