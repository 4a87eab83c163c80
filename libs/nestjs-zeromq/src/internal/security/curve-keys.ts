import { createPrivateKey, createPublicKey } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { MAX_KEY_FILE_SIZE } from '../../constants.js';
import type { ZeroMqCurveKey } from '../../zeromq.curve.options.js';
import { z85Decode, z85Encode } from './z85.js';

// CURVE keys as options give them: Z85 text, or a file holding one key (a secret one readable by its owner alone).

/** Length of a Z85 CURVE key (32 bytes). */
export const CURVE_KEY_LENGTH = 40;
const KEY_BYTES = 32;
/** DER prefix of a PKCS#8 X25519 private key; the 32 key bytes follow it. CURVE keys are X25519 keys. */
const X25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');

export type KeyKind = 'public' | 'secret';

/** The public key of a Z85 secret key (X25519 scalar multiplication, as libzmq does). */
export function publicKeyOf(secretKey: string): string {
  const secret = z85Decode(secretKey);
  if (secret?.length !== KEY_BYTES) {
    throw new Error('not a Z85 CURVE secret key');
  }
  const privateKey = createPrivateKey({ key: Buffer.concat([X25519_PKCS8_PREFIX, secret]), format: 'der', type: 'pkcs8' });
  return z85Encode(createPublicKey(privateKey).export({ format: 'der', type: 'spki' }).subarray(-KEY_BYTES));
}

/** Checks a Z85 key's text; returns what is wrong with it, never the key itself. */
function keyProblem(key: string): string | undefined {
  if (key.length !== CURVE_KEY_LENGTH) {
    return `must be a ${CURVE_KEY_LENGTH}-character Z85 key (as \`npx nestjs-zeromq keygen\` writes); it has ${key.length} characters`;
  }
  if (z85Decode(key) === undefined) {
    return 'is not Z85 text: it has characters outside the Z85 alphabet (a base64 or hex key must be converted)';
  }
  return undefined;
}

/** Reads a key file: the key alone, blank lines and `#` comment lines ignored. Throws a message saying what to fix. */
function readKeyFile(path: string, kind: KeyKind): string {
  let stats;
  try {
    stats = statSync(path);
  } catch (error) {
    throw new Error(`cannot read key file ${path}: ${(error as Error).message}`, { cause: error });
  }
  if (!stats.isFile() || stats.size > MAX_KEY_FILE_SIZE) {
    throw new Error(`${path} is not a key file (expected a small regular file holding one Z85 key)`);
  }
  // Permission bits mean nothing on Windows; elsewhere a secret others can read is no secret.
  if (kind === 'secret' && process.platform !== 'win32' && (stats.mode & 0o077) !== 0) {
    const mode = (stats.mode & 0o777).toString(8).padStart(4, '0');
    throw new Error(`secret key file ${path} can be read or written by other users (mode ${mode}); restrict it with: chmod 600 ${path}`);
  }
  const text = readFileSync(path, 'utf8');
  checkKeyKind(path, text, kind);
  const lines = text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line.length > 0 && !line.startsWith('#'));
  if (lines.length !== 1) {
    throw new Error(`key file ${path} must hold exactly one key line; it has ${lines.length}`);
  }
  const problem = keyProblem(lines[0]);
  if (problem !== undefined) {
    throw new Error(`the key in ${path} ${problem}`);
  }
  return lines[0];
}

/** A key option's value: the key itself, checked, or read from its file. Throws a message saying what to fix. */
/**
 * Refuses a key file that says it holds the other half of a pair: the comment `keygen` writes
 * ("CURVE public key" / "CURVE secret key"), or a `.pub` name where a secret key is expected. Both
 * halves are 40 Z85 characters, so nothing else tells a public key given as a secret one.
 */
function checkKeyKind(path: string, text: string, kind: KeyKind): void {
  const declared =
    (/^#.*\bCURVE (public|secret) key\b/im.exec(text)?.[1]?.toLowerCase() as KeyKind | undefined) ??
    (path.endsWith('.pub') ? 'public' : undefined);
  if (declared === undefined || declared === kind) {
    return;
  }
  throw new Error(
    kind === 'secret'
      ? `${path} holds a public key, where a secret key is expected: give the .key file of the pair (keygen writes <prefix>.key and <prefix>.pub)`
      : `${path} holds a secret key, where a public key is expected: give the .pub file of the pair (a secret key never leaves its owner)`,
  );
}

export function loadKey(source: ZeroMqCurveKey, kind: KeyKind): string {
  if (typeof source !== 'string') {
    return readKeyFile(source.file, kind);
  }
  const problem = keyProblem(source);
  if (problem !== undefined) {
    throw new Error(problem);
  }
  return source;
}
