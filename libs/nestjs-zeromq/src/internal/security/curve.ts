import { createPrivateKey, createPublicKey, randomUUID } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import * as zmq from 'zeromq';
import { z } from 'zod';
import { DEFAULT_AUTH_TIMEOUT, MAX_KEY_FILE_SIZE, ZAP_DOMAIN_PREFIX } from '../../constants.js';
import { ZeroMqOptionsError } from '../../zeromq.errors.js';
import type { ZeroMqClientAuthorizer, ZeroMqCurveKey } from '../../zeromq.curve.options.js';
import type { ZeroMqSocketKind } from '../../zeromq.options.js';
import { z85Decode, z85Encode } from './z85.js';

/** Length of a Z85 CURVE key (32 bytes). */
export const CURVE_KEY_LENGTH = 40;
const KEY_BYTES = 32;
/** DER prefix of a PKCS#8 X25519 private key; the 32 key bytes follow it. CURVE keys are X25519 keys. */
const X25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');

type KeyKind = 'public' | 'secret';

export interface ResolvedServerCurve {
  role: 'server';
  secretKey: string;
  publicKey: string;
  /** Public keys allowed in, a callback that decides, or undefined (anyone with the server's public key). */
  allowClients: ReadonlySet<string> | ZeroMqClientAuthorizer | undefined;
  /** The option that set `allowClients`, as rejections name it (`curve.allowClients`, `curve.allowSubscribers`...). */
  allowOption: string;
  authTimeout: number;
  /** This server's ZAP domain; set when `allowClients` is. */
  zapDomain: string | undefined;
}

export interface ResolvedClientCurve {
  role: 'client';
  secretKey: string;
  publicKey: string;
  serverPublicKey: string;
}

export type ResolvedCurve = ResolvedServerCurve | ResolvedClientCurve;

/**
 * The CURVE role of each socket of one ZeroMqServer or ZeroMqClient. The receiving side is the
 * CURVE server by default; `'pub-sub'` sockets may take the other role, so that a publisher's
 * allow-list says who may read its broadcasts (`curve.allowSubscribers` on the client,
 * `curve.publisherPublicKey` on the server).
 */
export interface SideCurve {
  /** `'push-pull'` and `'dealer-router'` sockets (and the dead-letter PUSH); undefined when no key for them was given. */
  readonly messaging: ResolvedCurve | undefined;
  /** `'pub-sub'` sockets. */
  readonly broadcast: ResolvedCurve | undefined;
}

/** The CURVE role a socket of `kind` takes on this side (undefined: plaintext, or no role configured for it). */
export function curveFor(curve: SideCurve | undefined, kind: ZeroMqSocketKind): ResolvedCurve | undefined {
  return kind === 'pub-sub' ? curve?.broadcast : curve?.messaging;
}

/** The role of this side in which it is the CURVE server, if any: the one whose allow-list ZAP enforces. */
export function serverRoleOf(curve: SideCurve | undefined): ResolvedServerCurve | undefined {
  for (const role of [curve?.messaging, curve?.broadcast]) {
    if (role?.role === 'server') {
      return role;
    }
  }
  return undefined;
}

/** The zeromq.js socket options that turn CURVE on; empty for plaintext. */
export interface CurveSocketOptions {
  curveServer?: boolean;
  curveSecretKey?: string;
  curvePublicKey?: string;
  curveServerKey?: string;
  zapDomain?: string;
  zapEnforceDomain?: boolean;
}

export function curveSocketOptions(curve: ResolvedCurve | undefined): CurveSocketOptions {
  if (curve === undefined) {
    return {};
  }
  if (curve.role === 'client') {
    return { curvePublicKey: curve.publicKey, curveSecretKey: curve.secretKey, curveServerKey: curve.serverPublicKey };
  }
  return {
    curveServer: true,
    curveSecretKey: curve.secretKey,
    // Enforcing the domain fails closed: were the ZAP handler ever missing, libzmq would reject
    // clients instead of letting every one in.
    ...(curve.zapDomain === undefined ? {} : { zapDomain: curve.zapDomain, zapEnforceDomain: true }),
  };
}

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

function loadKey(source: ZeroMqCurveKey, kind: KeyKind): string {
  if (typeof source !== 'string') {
    return readKeyFile(source.file, kind);
  }
  const problem = keyProblem(source);
  if (problem !== undefined) {
    throw new Error(problem);
  }
  return source;
}

const keySource = z.union([z.string(), z.strictObject({ file: z.string().min(1, 'needs the path of a key file') })], {
  error: (issue) =>
    `${issue.input === undefined ? 'is required' : 'must be'} a ${CURVE_KEY_LENGTH}-character Z85 key or { file: '/path/to/key' }`,
});

/** A key option: validated and, for `{ file }`, read (with the permission check for secret keys). */
function keySchema(kind: KeyKind) {
  return keySource.transform((source, context) => {
    try {
      return loadKey(source, kind);
    } catch (error) {
      context.addIssue({ code: 'custom', message: (error as Error).message });
      return z.NEVER;
    }
  });
}

const publicKeys = z.array(keySchema('public'));

const allowClientsSchema = z
  .custom<ZeroMqCurveKey[] | ZeroMqClientAuthorizer>(
    (value) => Array.isArray(value) || typeof value === 'function',
    'must be a list of client public keys or a callback (client) => boolean | Promise<boolean>',
  )
  .transform((value, context) => {
    if (typeof value === 'function') {
      return value;
    }
    const parsed = publicKeys.safeParse(value);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        context.addIssue({ code: 'custom', message: issue.message, path: issue.path });
      }
      return z.NEVER;
    }
    return new Set(parsed.data) as ReadonlySet<string>;
  });

/** Adds an issue when `publicKey` is given and is not the public half of `secretKey`. */
function checkKeyPair(curve: { secretKey: string; publicKey?: string }, context: z.RefinementCtx): void {
  if (curve.publicKey !== undefined && curve.publicKey !== publicKeyOf(curve.secretKey)) {
    context.addIssue({
      code: 'custom',
      path: ['publicKey'],
      message: 'is not the public key of curve.secretKey: the two come from different key pairs',
    });
  }
}

const authTimeoutSchema = z.number().int().positive().optional();

export const serverCurveSchema = z
  .strictObject({
    secretKey: keySchema('secret'),
    publicKey: keySchema('public').optional(),
    allowClients: allowClientsSchema.optional(),
    authTimeout: authTimeoutSchema,
    publisherPublicKey: keySchema('public').optional(),
  })
  .superRefine(checkKeyPair);

export const clientCurveSchema = z
  .strictObject({
    secretKey: keySchema('secret'),
    publicKey: keySchema('public').optional(),
    serverPublicKey: keySchema('public').optional(),
    allowSubscribers: allowClientsSchema.optional(),
    authTimeout: authTimeoutSchema,
  })
  .superRefine(checkKeyPair);

/** Throws when CURVE is asked for and this zeromq build cannot do it. */
export function requireCurveSupport(owner: string): void {
  if (!zmq.capability.curve) {
    throw new ZeroMqOptionsError(
      `Invalid ${owner} options: curve needs a ZeroMQ library built with CURVE support; this zeromq build has none`,
    );
  }
}

/** This side as the CURVE server of its sockets, admitting what `allow` (the option `allowOption`) lets in. */
export function serverRole(
  secretKey: string,
  allow: ReadonlySet<string> | ZeroMqClientAuthorizer | undefined,
  allowOption: string,
  authTimeout: number | undefined,
): ResolvedServerCurve {
  return {
    role: 'server',
    secretKey,
    publicKey: publicKeyOf(secretKey),
    allowClients: allow,
    allowOption,
    authTimeout: authTimeout ?? DEFAULT_AUTH_TIMEOUT,
    zapDomain: allow === undefined ? undefined : `${ZAP_DOMAIN_PREFIX}${randomUUID()}`,
  };
}

/** This side as a CURVE client of the server that holds the secret key of `serverPublicKey`. */
export function clientRole(secretKey: string, serverPublicKey: string): ResolvedClientCurve {
  return { role: 'client', secretKey, publicKey: publicKeyOf(secretKey), serverPublicKey };
}

/** A ZeroMqServer's CURVE: a server to its clients; its `'pub-sub'` sockets a client of `publisherPublicKey` when set. */
export function resolveServerCurve(curve: z.output<typeof serverCurveSchema> | undefined): SideCurve | undefined {
  if (curve === undefined) {
    return undefined;
  }
  requireCurveSupport('ZeroMqServer');
  const messaging = serverRole(curve.secretKey, curve.allowClients, 'curve.allowClients', curve.authTimeout);
  return {
    messaging,
    broadcast: curve.publisherPublicKey === undefined ? messaging : clientRole(curve.secretKey, curve.publisherPublicKey),
  };
}

/** A ZeroMqClient's CURVE: a client of `serverPublicKey`; its `'pub-sub'` sockets a server when `allowSubscribers` is set. */
export function resolveClientCurve(curve: z.output<typeof clientCurveSchema> | undefined): SideCurve | undefined {
  if (curve === undefined) {
    return undefined;
  }
  requireCurveSupport('ZeroMqClient');
  const messaging = curve.serverPublicKey === undefined ? undefined : clientRole(curve.secretKey, curve.serverPublicKey);
  return {
    messaging,
    broadcast:
      curve.allowSubscribers === undefined
        ? messaging
        : serverRole(curve.secretKey, curve.allowSubscribers, 'curve.allowSubscribers', curve.authTimeout),
  };
}
