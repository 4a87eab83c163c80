import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import * as zmq from 'zeromq';

export interface WrittenKeyPair {
  /** `<prefix>.key`: the secret key, readable by its owner only (mode 0600). */
  secretKeyFile: string;
  /** `<prefix>.pub`: the public key, to hand to peers. */
  publicKeyFile: string;
  publicKey: string;
}

const SECRET_MODE = 0o600;
const PUBLIC_MODE = 0o644;
/** A directory created for keys is the owner's alone. */
const DIRECTORY_MODE = 0o700;

/**
 * Writes a new CURVE key pair as `<prefix>.key` (secret) and `<prefix>.pub` (public), each the Z85
 * key under a comment line. Refuses to replace existing files unless `force` is set. Each file is
 * written under a temporary name with its final mode and then renamed, so a secret is never
 * readable by others, not even for a moment (a replaced file keeps no old permissions).
 */
export function writeKeyPair(prefix: string, options: { force?: boolean } = {}): WrittenKeyPair {
  const base = resolve(prefix);
  const secretKeyFile = `${base}.key`;
  const publicKeyFile = `${base}.pub`;
  for (const file of options.force ? [] : [secretKeyFile, publicKeyFile]) {
    if (existsSync(file)) {
      throw new Error(`${file} exists; choose another --out or pass --force to replace the key pair`);
    }
  }
  const { publicKey, secretKey } = zmq.curveKeyPair();
  mkdirSync(dirname(base), { recursive: true, mode: DIRECTORY_MODE });
  const created = new Date().toISOString();
  writeAtomically(secretKeyFile, `# nestjs-zeromq CURVE secret key, created ${created}. Keep it private.\n${secretKey}\n`, SECRET_MODE);
  writeAtomically(publicKeyFile, `# nestjs-zeromq CURVE public key, created ${created}.\n${publicKey}\n`, PUBLIC_MODE);
  return { secretKeyFile, publicKeyFile, publicKey };
}

/** Creates the file under a temporary name with its final mode ('wx': never wider), then renames it. */
function writeAtomically(path: string, text: string, mode: number): void {
  const temporary = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    writeFileSync(temporary, text, { mode, flag: 'wx' });
    renameSync(temporary, path);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
}
