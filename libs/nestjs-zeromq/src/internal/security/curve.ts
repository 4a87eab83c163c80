import { randomUUID } from 'node:crypto';
import * as zmq from 'zeromq';
import { z } from 'zod';
import { DEFAULT_AUTH_TIMEOUT, ZAP_DOMAIN_PREFIX } from '../../constants.js';
import { ZeroMqOptionsError } from '../../zeromq.errors.js';
import type { ZeroMqClientAuthorizer, ZeroMqCurveKey } from '../../zeromq.curve.options.js';
import { CURVE_KEY_LENGTH, loadKey, publicKeyOf, type KeyKind } from './curve-keys.js';

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
 * CURVE server by default; broadcast sockets may take the other role, so that a publisher's
 * allow-list says who may read its broadcasts (`curve.allowSubscribers` on the client,
 * `curve.publisherPublicKey` on the server). A socket kind says which of the two its sockets take.
 */
export interface SideCurve {
  /** Sockets of the kinds that carry messages to one peer (and the dead-letter PUSH); undefined when no key for them was given. */
  readonly messaging: ResolvedCurve | undefined;
  /** Sockets of the broadcast kind (`'pub-sub'`). */
  readonly broadcast: ResolvedCurve | undefined;
}

/** Which of a side's CURVE roles a socket takes: its kind's `curveRole`. */
export type CurveRole = keyof SideCurve;

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
