import { randomUUID } from 'node:crypto';
import * as zmq from 'zeromq';
import { Collector, within } from '../../../test/waiting.js';
import { MAX_PENDING_AUTHORIZATIONS, ZAP_DOMAIN_PREFIX, ZAP_ENDPOINT } from '../../constants.js';
import type { ZeroMqUnauthorizedClient } from '../../zeromq.events.js';
import type { ZeroMqClientAuthorizer } from '../../zeromq.curve.options.js';
import { ClientAuthorization } from './client-authorization.js';
import { curveSocketOptions, type ResolvedServerCurve } from './curve.js';
import { z85Decode } from './z85.js';

type ZapAnswer = { status: string; text: string; userId: string };

/** A server's CURVE settings with `allowClients`, under a fresh ZAP domain. */
function serverCurve(allowClients: ResolvedServerCurve['allowClients'], authTimeout = 5_000): ResolvedServerCurve {
  const keys = zmq.curveKeyPair();
  return {
    role: 'server',
    secretKey: keys.secretKey,
    publicKey: keys.publicKey,
    allowClients,
    allowOption: 'curve.allowClients',
    authTimeout,
    zapDomain: `${ZAP_DOMAIN_PREFIX}${randomUUID()}`,
  };
}

/** A started authorization whose rejections are collected; `stop()` also stops it. */
async function authorization(curve: ResolvedServerCurve) {
  const rejected = new Collector<ZeroMqUnauthorizedClient>();
  const auth = ClientAuthorization.of(curve, (client) => rejected.add(client))!;
  await auth.start();
  return { auth, rejected };
}

/**
 * Asks the process's ZAP handler as libzmq does (RFC 27 over inproc), so that a policy can be
 * tried with many requests at once and its answers read directly.
 */
class ZapRequester {
  private readonly dealer = new zmq.Dealer({ linger: 0 });
  private readonly waiting = new Map<string, (answer: ZapAnswer) => void>();
  private sequence = 0;
  /** zeromq.js allows one pending send per socket. */
  private sending: Promise<void> = Promise.resolve();

  constructor() {
    this.dealer.connect(ZAP_ENDPOINT);
    void this.read();
  }

  ask(domain: string, publicKey: string | undefined, mechanism = publicKey === undefined ? 'NULL' : 'CURVE'): Promise<ZapAnswer> {
    const requestId = String(++this.sequence);
    const answered = new Promise<ZapAnswer>((resolve) => this.waiting.set(requestId, resolve));
    const credentials = publicKey === undefined ? [] : [z85Decode(publicKey)!];
    const sent = this.sending.then(() => this.dealer.send(['', '1.0', requestId, domain, '127.0.0.1', '', mechanism, ...credentials]));
    this.sending = sent.catch(() => undefined);
    return within(
      sent.then(() => answered),
      5_000,
      `the ZAP answer to request ${requestId}`,
    );
  }

  close(): void {
    this.dealer.close();
  }

  private async read(): Promise<void> {
    try {
      for await (const [, , requestId, status, text, userId] of this.dealer) {
        this.waiting.get(requestId.toString())?.({ status: status.toString(), text: text.toString(), userId: userId.toString() });
      }
    } catch {
      // Closed.
    }
  }
}

describe('ClientAuthorization', () => {
  it('exists only for a CURVE server with allowClients', () => {
    const onRejected = () => undefined;
    expect(ClientAuthorization.of(undefined, onRejected)).toBeUndefined();
    expect(ClientAuthorization.of({ ...serverCurve(undefined), zapDomain: undefined }, onRejected)).toBeUndefined();
    expect(ClientAuthorization.of(serverCurve(new Set()), onRejected)).toBeInstanceOf(ClientAuthorization);
  });

  it('admits listed clients of real CURVE sockets and rejects the others, reporting them', async () => {
    const allowed = zmq.curveKeyPair();
    const unlisted = zmq.curveKeyPair();
    const curve = serverCurve(new Set([allowed.publicKey]));
    const { auth, rejected } = await authorization(curve);
    const server = new zmq.Pull({ linger: 0, ...curveSocketOptions(curve) });
    const clients = [allowed, unlisted].map(
      (keys) =>
        new zmq.Push({ linger: 0, curveServerKey: curve.publicKey, curvePublicKey: keys.publicKey, curveSecretKey: keys.secretKey }),
    );
    try {
      await server.bind('tcp://127.0.0.1:*');
      clients.forEach((client) => client.connect(server.lastEndpoint!));
      void clients[1].send('from the unlisted client').catch(() => undefined);
      await within(clients[0].send('from the allowed client'), 5_000, 'the allowed client to send');
      const [message] = await within(server.receive(), 5_000, 'the allowed client message');
      expect(message.toString()).toBe('from the allowed client');
      expect(await rejected.waitFor(1)).toEqual([
        { publicKey: unlisted.publicKey, address: '127.0.0.1', reason: 'its public key is not in curve.allowClients' },
      ]);
    } finally {
      [server, ...clients].forEach((socket) => socket.close());
      auth.stop();
    }
  });

  it('answers with the callback: only a real true admits; false, a truthy value and a throw reject with their reason', async () => {
    const seen: Array<{ publicKey: string; address: string }> = [];
    const verdicts = new Map<string, () => unknown>();
    const decide: ZeroMqClientAuthorizer = (client) => {
      seen.push(client);
      return verdicts.get(client.publicKey)!() as boolean;
    };
    const keys = Array.from({ length: 5 }, () => zmq.curveKeyPair().publicKey);
    verdicts.set(keys[0], () => true);
    verdicts.set(keys[1], () => Promise.resolve(true));
    verdicts.set(keys[2], () => false);
    verdicts.set(keys[3], () => 'yes');
    verdicts.set(keys[4], () => Promise.reject(new Error('directory down')));
    const curve = serverCurve(decide);
    const { auth, rejected } = await authorization(curve);
    const zap = new ZapRequester();
    try {
      const answers = await Promise.all(keys.map((key) => zap.ask(curve.zapDomain!, key)));
      expect(answers).toEqual([
        { status: '200', text: 'OK', userId: keys[0] },
        { status: '200', text: 'OK', userId: keys[1] },
        { status: '400', text: 'refused by the curve.allowClients callback', userId: '' },
        { status: '400', text: 'refused by the curve.allowClients callback', userId: '' },
        { status: '400', text: 'the curve.allowClients callback threw: directory down', userId: '' },
      ]);
      expect(seen).toEqual(keys.map((publicKey) => ({ publicKey, address: '127.0.0.1' })));
      expect((await rejected.waitFor(3)).map(({ publicKey }) => publicKey).sort()).toEqual(keys.slice(2).sort());
    } finally {
      zap.close();
      auth.stop();
    }
  });

  it('rejects a client that does not use CURVE without asking the callback', async () => {
    let asked = 0;
    const curve = serverCurve(() => ++asked > 0);
    const { auth, rejected } = await authorization(curve);
    const zap = new ZapRequester();
    try {
      expect(await zap.ask(curve.zapDomain!, undefined)).toEqual({ status: '400', text: 'mechanism NULL is not CURVE', userId: '' });
      expect(asked).toBe(0);
      expect(await rejected.waitFor(1)).toEqual([{ publicKey: '', address: '127.0.0.1', reason: 'mechanism NULL is not CURVE' }]);
    } finally {
      zap.close();
      auth.stop();
    }
  });

  it('rejects a client whose callback outlasts authTimeout', async () => {
    let answer: (allowed: boolean) => void = () => undefined;
    const curve = serverCurve(() => new Promise<boolean>((resolve) => (answer = resolve)), 20);
    const { auth, rejected } = await authorization(curve);
    const zap = new ZapRequester();
    const key = zmq.curveKeyPair().publicKey;
    try {
      const reason = 'the curve.allowClients callback did not answer within 20 ms (authTimeout)';
      expect(await zap.ask(curve.zapDomain!, key)).toEqual({ status: '400', text: reason, userId: '' });
      expect(await rejected.waitFor(1)).toEqual([{ publicKey: key, address: '127.0.0.1', reason }]);
    } finally {
      answer(true);
      zap.close();
      auth.stop();
    }
  });

  it(`rejects clients beyond ${MAX_PENDING_AUTHORIZATIONS} pending callbacks; a stuck callback holds its slot until it settles`, async () => {
    const stuck: Array<(allowed: boolean) => void> = [];
    let stall = true;
    const curve = serverCurve(() => (stall ? new Promise<boolean>((resolve) => stuck.push(resolve)) : true), 50);
    const { auth, rejected } = await authorization(curve);
    const zap = new ZapRequester();
    const key = zmq.curveKeyPair().publicKey;
    try {
      const timedOut = await Promise.all(Array.from({ length: MAX_PENDING_AUTHORIZATIONS }, () => zap.ask(curve.zapDomain!, key)));
      expect(new Set(timedOut.map(({ text }) => text))).toEqual(
        new Set(['the curve.allowClients callback did not answer within 50 ms (authTimeout)']),
      );
      expect(stuck).toHaveLength(MAX_PENDING_AUTHORIZATIONS);
      stall = false;
      const full = `${MAX_PENDING_AUTHORIZATIONS} curve.allowClients callbacks are still pending`;
      expect(await zap.ask(curve.zapDomain!, key)).toEqual({ status: '400', text: full, userId: '' });
      expect(stuck).toHaveLength(MAX_PENDING_AUTHORIZATIONS);
      expect((await rejected.waitFor(MAX_PENDING_AUTHORIZATIONS + 1)).at(-1)).toEqual({
        publicKey: key,
        address: '127.0.0.1',
        reason: full,
      });
      // One stuck callback answers at last: its slot is free for the next client.
      stuck[0](false);
      await new Promise((resolve) => setImmediate(resolve));
      expect(await zap.ask(curve.zapDomain!, key)).toEqual({ status: '200', text: 'OK', userId: key });
    } finally {
      stuck.forEach((resolve) => resolve(false));
      zap.close();
      auth.stop();
    }
  });

  it('after stop(), clients of its domain are rejected as of a closed server', async () => {
    const curve = serverCurve(() => true);
    const { auth } = await authorization(curve);
    // Another server keeps the process's ZAP handler running.
    const other = await authorization(serverCurve(() => true));
    const zap = new ZapRequester();
    try {
      const key = zmq.curveKeyPair().publicKey;
      expect((await zap.ask(curve.zapDomain!, key)).status).toBe('200');
      auth.stop();
      expect(await zap.ask(curve.zapDomain!, key)).toEqual({ status: '400', text: 'server closed', userId: '' });
    } finally {
      zap.close();
      other.auth.stop();
    }
  });
});
