import 'reflect-metadata';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as zmq from 'zeromq';
import { ZeroMqOptionsError } from '../../zeromq.errors.js';
import type { ZeroMqClientOptions, ZeroMqServerOptions } from '../../zeromq.options.js';
import { serverRoleOf } from './curve.js';
import { resolveClientOptions, resolveServerOptions } from '../options/resolve-options.js';
import { socketKind } from '../kinds/kinds.js';
import { tuningSocketOptions } from '../kinds/socket-options.js';

const endpoints = ['tcp://127.0.0.1:5557'];
const server = zmq.curveKeyPair();
const client = zmq.curveKeyPair();

/** The options error a constructor would throw, or a test failure if none. */
function optionsError(resolve: () => unknown): string {
  try {
    resolve();
  } catch (error) {
    expect(error).toBeInstanceOf(ZeroMqOptionsError);
    return (error as Error).message;
  }
  throw new Error('the options were expected to be refused');
}
const serverError = (curve: unknown) =>
  optionsError(() => resolveServerOptions({ endpoints, curve } as ZeroMqServerOptions, String, socketKind));
const clientError = (curve: unknown) =>
  optionsError(() => resolveClientOptions({ endpoints, curve } as ZeroMqClientOptions, String, socketKind));

describe('CURVE options', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nzmq-curve-'));
  const file = (name: string, text: string, mode: number) => {
    const path = join(dir, name);
    writeFileSync(path, text, { mode });
    chmodSync(path, mode);
    return path;
  };
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('gives every socket of a server and of a client the CURVE options', () => {
    const serverConfig = resolveServerOptions(
      { endpoints, curve: { secretKey: server.secretKey, allowClients: [client.publicKey] } },
      String,
      socketKind,
    );
    expect(tuningSocketOptions(serverConfig, socketKind('push-pull'))).toMatchObject({
      curveServer: true,
      curveSecretKey: server.secretKey,
      zapDomain: expect.stringMatching(/^nestjs-zeromq\//),
      zapEnforceDomain: true,
    });
    const clientConfig = resolveClientOptions(
      { endpoints, curve: { secretKey: client.secretKey, serverPublicKey: server.publicKey } },
      String,
      socketKind,
    );
    expect(tuningSocketOptions(clientConfig, socketKind('push-pull'))).toMatchObject({
      curvePublicKey: client.publicKey,
      curveSecretKey: client.secretKey,
      curveServerKey: server.publicKey,
    });
    expect(tuningSocketOptions(resolveServerOptions({ endpoints }, String, socketKind), socketKind('pub-sub'))).not.toHaveProperty(
      'curveSecretKey',
    );
  });

  it("lets 'pub-sub' sockets take the other role: the publisher's allow-list says who may read", () => {
    const routes = [{ name: 'prices', kind: 'pub-sub' as const, patterns: ['prices.>'], endpoints }];
    // A publisher with an allow-list of subscribers: CURVE server on its 'pub-sub' sockets only.
    const publisher = resolveClientOptions(
      {
        endpoints,
        routes,
        curve: { secretKey: client.secretKey, serverPublicKey: server.publicKey, allowSubscribers: [server.publicKey] },
      },
      String,
      socketKind,
    );
    expect(tuningSocketOptions(publisher, socketKind('pub-sub'))).toMatchObject({
      curveServer: true,
      curveSecretKey: client.secretKey,
      zapDomain: expect.stringMatching(/^nestjs-zeromq\//),
    });
    expect(tuningSocketOptions(publisher, socketKind('push-pull'))).toMatchObject({ curveServerKey: server.publicKey });
    expect(serverRoleOf(publisher.curve)).toMatchObject({ allowOption: 'curve.allowSubscribers' });
    // A publisher with only broadcasts needs no serverPublicKey.
    expect(() =>
      resolveClientOptions(
        { endpoints, kind: 'pub-sub', curve: { secretKey: client.secretKey, allowSubscribers: [] } },
        String,
        socketKind,
      ),
    ).not.toThrow();
    // A subscriber that pins its publisher: CURVE client on 'pub-sub' sockets, server elsewhere.
    const subscriber = resolveServerOptions(
      { endpoints, routes, curve: { secretKey: server.secretKey, allowClients: [client.publicKey], publisherPublicKey: client.publicKey } },
      String,
      socketKind,
    );
    expect(tuningSocketOptions(subscriber, socketKind('pub-sub'))).toMatchObject({
      curvePublicKey: server.publicKey,
      curveSecretKey: server.secretKey,
      curveServerKey: client.publicKey,
    });
    expect(tuningSocketOptions(subscriber, socketKind('pub-sub'))).not.toHaveProperty('curveServer');
    expect(tuningSocketOptions(subscriber, socketKind('push-pull'))).toMatchObject({ curveServer: true });
  });

  it('says which socket lacks its keys, and refuses a broadcast-only option without a pub-sub socket', () => {
    expect(() =>
      resolveClientOptions({ endpoints, curve: { secretKey: client.secretKey, allowSubscribers: [] } }, String, socketKind),
    ).toThrow(/socket "default" \(kind 'push-pull'\) needs curve.serverPublicKey/);
    expect(() => resolveClientOptions({ endpoints, curve: { secretKey: client.secretKey } }, String, socketKind)).toThrow(
      /needs curve.serverPublicKey/,
    );
    expect(() =>
      resolveClientOptions(
        { endpoints, curve: { secretKey: client.secretKey, serverPublicKey: server.publicKey, allowSubscribers: [] } },
        String,
        socketKind,
      ),
    ).toThrow(/curve.allowSubscribers applies to 'pub-sub' sockets, and this ZeroMqClient has none/);
    expect(() =>
      resolveServerOptions({ endpoints, curve: { secretKey: server.secretKey, publisherPublicKey: client.publicKey } }, String, socketKind),
    ).toThrow(/curve.publisherPublicKey applies to 'pub-sub' sockets, and this ZeroMqServer has none/);
  });

  it('gives each server its own ZAP domain, and none without an allow-list', () => {
    const a = resolveServerOptions({ endpoints, curve: { secretKey: server.secretKey, allowClients: [] } }, String, socketKind).curve
      ?.messaging;
    const b = resolveServerOptions({ endpoints, curve: { secretKey: server.secretKey, allowClients: () => true } }, String, socketKind)
      .curve?.messaging;
    const open = resolveServerOptions({ endpoints, curve: { secretKey: server.secretKey } }, String, socketKind).curve?.messaging;
    expect(a?.role === 'server' && a.zapDomain).not.toBe(b?.role === 'server' && b.zapDomain);
    expect(open).toMatchObject({ role: 'server', zapDomain: undefined, allowClients: undefined });
  });

  it('reads keys from files, skipping comment lines', () => {
    const secretKeyFile = file('server.key', `# comment\n\n${server.secretKey}\n`, 0o600);
    const publicKeyFile = file('server.pub', `${server.publicKey}\n`, 0o644);
    const curve = resolveClientOptions(
      {
        endpoints,
        curve: { secretKey: { file: secretKeyFile }, publicKey: { file: publicKeyFile }, serverPublicKey: { file: publicKeyFile } },
      },
      String,
      socketKind,
    ).curve?.messaging;
    expect(curve).toMatchObject({ secretKey: server.secretKey, publicKey: server.publicKey, serverPublicKey: server.publicKey });
  });

  it.each([
    ['a key of the wrong length', { secretKey: 'abc' }, 'curve.secretKey', 'must be a 40-character Z85 key'],
    ['a key outside the Z85 alphabet', { secretKey: '~'.repeat(40) }, 'curve.secretKey', 'is not Z85 text'],
    ['a missing secret key', {}, 'curve.secretKey', 'is required'],
    ['a key of the wrong type', { secretKey: 42 }, 'curve.secretKey', "must be a 40-character Z85 key or { file: '/path/to/key' }"],
    [
      'a public key of another pair',
      { secretKey: server.secretKey, publicKey: client.publicKey },
      'curve.publicKey',
      'different key pairs',
    ],
    [
      'a bad allow-list entry',
      { secretKey: server.secretKey, allowClients: [client.publicKey, 'short'] },
      'curve.allowClients[1]',
      'must be',
    ],
    ['an allow-list of the wrong type', { secretKey: server.secretKey, allowClients: 'everyone' }, 'curve.allowClients', 'a callback'],
    [
      'a missing key file',
      { secretKey: { file: '/nonexistent/server.key' } },
      'curve.secretKey',
      'cannot read key file /nonexistent/server.key',
    ],
    ['an unknown option', { secretKey: server.secretKey, serverPublicKey: server.publicKey }, 'curve', 'serverPublicKey'],
  ])('refuses %s on a server, naming the option and never echoing a key', (_what, curve, path, message) => {
    const text = serverError(curve);
    expect(text).toContain(`at ${path}`);
    expect(text).toContain(message);
    expect(text).not.toContain(server.secretKey);
  });

  it('refuses a client without the server public key', () => {
    expect(clientError({ secretKey: client.secretKey })).toMatch(/socket "default" \(kind 'push-pull'\) needs curve\.serverPublicKey/);
  });

  it('refuses key files others can read, that hold more than a key, or that are no key files', () => {
    const loose = file('loose.key', `${server.secretKey}\n`, 0o644);
    expect(serverError({ secretKey: { file: loose } })).toContain(`(mode 0644); restrict it with: chmod 600 ${loose}`);
    const two = file('two.key', `${server.secretKey}\n${client.secretKey}\n`, 0o600);
    expect(serverError({ secretKey: { file: two } })).toContain('must hold exactly one key line; it has 2');
    expect(serverError({ secretKey: { file: dir } })).toContain('is not a key file');
    // The other half of a pair, told by its keygen comment or a .pub name whatever its mode.
    const publicAsSecret = file('server-copy.pub', `${server.publicKey}\n`, 0o600);
    expect(serverError({ secretKey: { file: publicAsSecret } })).toContain('holds a public key, where a secret key is expected');
    const commented = file('commented.key', `# nestjs-zeromq CURVE public key, created today.\n${server.publicKey}\n`, 0o600);
    expect(serverError({ secretKey: { file: commented } })).toContain('holds a public key');
    const secretAsPublic = file('secret-as-public', `# nestjs-zeromq CURVE secret key.\n${client.secretKey}\n`, 0o600);
    expect(serverError({ secretKey: server.secretKey, allowClients: [{ file: secretAsPublic }] })).toContain(
      'holds a secret key, where a public key is expected',
    );
    // A public key file may be readable by anyone.
    const pub = file('client.pub', client.publicKey, 0o644);
    expect(
      resolveServerOptions({ endpoints, curve: { secretKey: server.secretKey, allowClients: [{ file: pub }] } }, String, socketKind).curve
        ?.messaging,
    ).toMatchObject({
      allowClients: new Set([client.publicKey]),
    });
  });
});
