import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { firstValueFrom } from 'rxjs';
import * as zmq from 'zeromq';
import { writeKeyPair } from './cli/keygen.js';
import { bindRetrying } from './internal/util/bind-retrying.js';
import { ZeroMqClient } from './zeromq.client.js';
import { ZeroMqOptionsError, ZeroMqSendError } from './zeromq.errors.js';
import type { ZeroMqSocketEvent, ZeroMqUnauthorizedClient } from './zeromq.events.js';
import type { ZeroMqCurveClient } from './zeromq.curve.options.js';
import type { ZeroMqClientOptions, ZeroMqServerOptions } from './zeromq.options.js';
import { ZeroMqServer } from './zeromq.server.js';
import { boundAddress, startWorker, type Worker } from '../test/nest-apps.js';
import { LOOPBACK_ANY_PORT } from '../test/endpoints.js';
import { Collector, eventually, within } from '../test/waiting.js';

const serverKeys = zmq.curveKeyPair();
const clientKeys = zmq.curveKeyPair();
const intruderKeys = zmq.curveKeyPair();
const strangerServerKeys = zmq.curveKeyPair();

/** Short enough to keep failing emits fast, long enough for a loopback handshake. */
const SEND_TIMEOUT = 700;

const emit = (client: ZeroMqClient, data: unknown, pattern = 'orders.created') =>
  firstValueFrom(client.emit(pattern, data), { defaultValue: undefined });

/** The error an emit fails with; fails the test if it succeeds. */
async function emitError(client: ZeroMqClient, data: unknown): Promise<ZeroMqSendError> {
  const error: unknown = await emit(client, data).then(
    () => {
      throw new Error('the emit was expected to fail');
    },
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(ZeroMqSendError);
  return error as ZeroMqSendError;
}

@Controller()
class SumController {
  @MessagePattern('sum')
  sum(@Payload() numbers: number[]): number {
    return numbers.reduce((total, n) => total + n, 0);
  }
}

/** Resolves with the first `event` the owner reports (bounded wait). */
function next<T>(owner: { on(event: string, listener: (value: T) => void): void }, event: string, what = event): Promise<T> {
  return within(new Promise<T>((resolve) => owner.on(event, resolve)), 5_000, what);
}

describe('Security: CURVE encryption and client authentication', () => {
  const workers: Worker[] = [];
  const clients: ZeroMqClient[] = [];
  const sockets: zmq.Socket[] = [];
  const dirs: string[] = [];

  const serve = async (curve: ZeroMqServerOptions['curve'], extra: Partial<ZeroMqServerOptions> = {}) => {
    const worker = await startWorker({ endpoints: [LOOPBACK_ANY_PORT], logInterval: 60_000, curve, ...extra });
    workers.push(worker);
    return worker;
  };
  const connect = (worker: Worker, curve: ZeroMqClientOptions['curve'], extra: Partial<ZeroMqClientOptions> = {}) => {
    const client = new ZeroMqClient({
      endpoints: [boundAddress(worker.server)],
      sendTimeout: SEND_TIMEOUT,
      logInterval: 60_000,
      curve,
      ...extra,
    });
    clients.push(client);
    return client;
  };
  const clientCurve = (keys = clientKeys, serverPublicKey = serverKeys.publicKey) => ({
    secretKey: keys.secretKey,
    serverPublicKey,
  });

  afterEach(async () => {
    for (const socket of sockets.splice(0)) {
      socket.close();
    }
    await Promise.all(clients.splice(0).map((client) => client.close()));
    await Promise.all(workers.splice(0).map((worker) => worker.app.close()));
  });
  afterAll(() => {
    for (const dir of dirs) {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('delivers from an allowed client, over sockets that really use CURVE', async () => {
    const worker = await serve({ secretKey: serverKeys.secretKey, allowClients: [clientKeys.publicKey] });
    const client = connect(worker, clientCurve());
    const handshake = next<ZeroMqSocketEvent>(client, 'handshake');
    await emit(client, { id: 1 });
    const [message] = await worker.received.waitFor(1);
    expect(message.data).toEqual({ id: 1 });
    await handshake;
    const serverSocket = worker.server.unwrap<Record<string, zmq.Pull>>().default;
    const clientSocket = client.unwrap<Record<string, zmq.Push>>().default;
    expect(serverSocket.securityMechanism).toBe('curve');
    expect(serverSocket.curveServer).toBe(true);
    expect(clientSocket.securityMechanism).toBe('curve');
    expect(worker.server.getMetrics().unauthorized).toBe(0);
  });

  it('lets an unlisted key deliver nothing, counts and reports it, and keeps serving allowed clients', async () => {
    const worker = await serve({ secretKey: serverKeys.secretKey, allowClients: [clientKeys.publicKey] });
    const rejected = next<ZeroMqUnauthorizedClient>(worker.server, 'unauthorized');
    const intruder = connect(worker, clientCurve(intruderKeys));
    const clientSide = next<ZeroMqSocketEvent>(intruder, 'handshake:error');

    const error = await emitError(intruder, { from: 'intruder' });
    expect(error.code).toBe('SEND_TIMEOUT');
    expect(error.message).toContain("add it to the server's curve.allowClients");
    expect(await rejected).toEqual({
      publicKey: intruderKeys.publicKey,
      address: '127.0.0.1',
      reason: 'its public key is not in curve.allowClients',
    });
    expect((await clientSide).reason).toContain('rejected this client');

    const friend = connect(worker, clientCurve());
    await emit(friend, { from: 'friend' });
    await worker.received.waitFor(1);
    expect(worker.received.items.map((item) => item.data)).toEqual([{ from: 'friend' }]);
    await eventually(
      () => worker.server.getMetrics(),
      (metrics) => metrics.handled === 1,
    );
    expect(worker.server.getMetrics()).toMatchObject({ handled: 1, unauthorized: 1 });
  });

  it('lets a plaintext client deliver nothing to a CURVE server, and says why on both sides', async () => {
    const worker = await serve({ secretKey: serverKeys.secretKey });
    const serverSide = next<ZeroMqSocketEvent>(worker.server, 'handshake:error');
    const plaintext = connect(worker, undefined);
    const clientReasons: string[] = [];
    plaintext.on('handshake:error', (event) => clientReasons.push(event.reason ?? ''));
    const error = await emitError(plaintext, { plain: true });
    expect(error.code).toBe('SEND_TIMEOUT');
    expect(error.message).toContain('the peer uses CURVE and this side does not');
    expect((await serverSide).reason).toContain('does not use CURVE');
    // Every one, the first ("Broken pipe" from libzmq) too, names CURVE as a cause.
    expect(clientReasons.length).toBeGreaterThan(0);
    for (const reason of clientReasons) {
      expect(reason).toContain('CURVE');
    }

    // A raw ZeroMQ peer without CURVE fares no better: its message never reaches a handler.
    const push = new zmq.Push({ linger: 0, sendTimeout: SEND_TIMEOUT, immediate: true });
    sockets.push(push);
    push.connect(boundAddress(worker.server));
    await expect(push.send(['NZ1E', 'orders.created', 'j', '{"raw":true}'])).rejects.toMatchObject({ code: 'EAGAIN' });
    expect(worker.received.items).toHaveLength(0);
    expect(worker.server.getMetrics().received).toBe(0);
  });

  it('reports a wrong server key as a handshake:error and a SEND_TIMEOUT naming curve.serverPublicKey', async () => {
    const worker = await serve({ secretKey: serverKeys.secretKey });
    const client = connect(worker, clientCurve(clientKeys, strangerServerKeys.publicKey));
    const clientSide = next<ZeroMqSocketEvent>(client, 'handshake:error');
    const serverSide = next<ZeroMqSocketEvent>(worker.server, 'handshake:error');

    const error = await emitError(client, { id: 2 });
    expect(error.code).toBe('SEND_TIMEOUT');
    expect(error.message).toContain('curve.serverPublicKey');
    expect((await clientSide).reason).toContain("curve.serverPublicKey is not the server's public key");
    expect((await serverSide).reason).toContain("its curve.serverPublicKey is not this server's public key");
    expect(worker.received.items).toHaveLength(0);
  });

  it('tells a CURVE client that its server does not use CURVE', async () => {
    const worker = await serve(undefined);
    const client = connect(worker, clientCurve());
    const error = await emitError(client, { id: 3 });
    expect(error.message).toContain('the peer does not use CURVE');
    expect(worker.received.items).toHaveLength(0);
  });

  it('asks an allowClients callback per connection, so access can be granted and revoked at run time', async () => {
    const allowed = new Set<string>();
    const asked = new Collector<ZeroMqCurveClient>();
    const worker = await serve({
      secretKey: serverKeys.secretKey,
      allowClients: async (client) => {
        asked.add(client);
        return allowed.has(client.publicKey);
      },
    });

    const first = connect(worker, clientCurve());
    expect((await emitError(first, { attempt: 1 })).code).toBe('SEND_TIMEOUT');
    expect((await asked.waitFor(1))[0]).toEqual({ publicKey: clientKeys.publicKey, address: '127.0.0.1' });

    allowed.add(clientKeys.publicKey);
    // A rejected connection is not retried by libzmq: a new one (a reconnecting client) is asked again.
    await first.close();
    await emit(first, { attempt: 2 });
    expect((await worker.received.waitFor(1))[0].data).toEqual({ attempt: 2 });

    allowed.delete(clientKeys.publicKey);
    const later = connect(worker, clientCurve());
    expect((await emitError(later, { attempt: 3 })).code).toBe('SEND_TIMEOUT');
    expect(worker.received.items).toHaveLength(1);
    expect(worker.server.getMetrics().unauthorized).toBe(2);
  });

  it('rejects when the callback throws, hangs past authTimeout or answers anything but true', async () => {
    const misbehaving = [zmq.curveKeyPair(), zmq.curveKeyPair(), zmq.curveKeyPair()];
    const [throws, hangs, truthy] = misbehaving.map((keys) => keys.publicKey);
    const worker = await serve({
      secretKey: serverKeys.secretKey,
      authTimeout: 200,
      allowClients: (client) => {
        if (client.publicKey === throws) {
          throw new Error('directory unavailable');
        }
        if (client.publicKey === hangs) {
          return new Promise<boolean>(() => undefined);
        }
        return 'yes' as unknown as boolean;
      },
    });
    const reasons = new Collector<ZeroMqUnauthorizedClient>();
    worker.server.on('unauthorized', (client) => reasons.add(client));
    await Promise.all(misbehaving.map((keys) => emitError(connect(worker, clientCurve(keys)), {})));
    const byKey = new Map((await reasons.waitFor(3)).map((client) => [client.publicKey, client.reason]));
    expect(byKey.get(throws)).toBe('the curve.allowClients callback threw: directory unavailable');
    expect(byKey.get(hangs)).toBe('the curve.allowClients callback did not answer within 200 ms (authTimeout)');
    expect(byKey.get(truthy)).toBe('refused by the curve.allowClients callback');
    expect(worker.received.items).toHaveLength(0);
  });

  it('keeps the allow-lists of several CURVE servers in one process apart', async () => {
    const otherClientKeys = zmq.curveKeyPair();
    const a = await serve({ secretKey: serverKeys.secretKey, allowClients: [clientKeys.publicKey] });
    const b = await serve({ secretKey: serverKeys.secretKey, allowClients: [otherClientKeys.publicKey] });
    await emit(connect(a, clientCurve()), { to: 'a' });
    await emit(connect(b, clientCurve(otherClientKeys)), { to: 'b' });
    expect((await emitError(connect(b, clientCurve()), { to: 'b', from: 'a-client' })).code).toBe('SEND_TIMEOUT');

    // Closing one server leaves the other's authentication running.
    await workers.shift()!.app.close();
    await emit(connect(b, clientCurve(otherClientKeys)), { to: 'b', again: true });
    await b.received.waitFor(2);
    expect(a.received.items.map((item) => item.data)).toEqual([{ to: 'a' }]);
    expect(b.received.items.map((item) => item.data)).toEqual([{ to: 'b' }, { to: 'b', again: true }]);
    expect(b.server.getMetrics().unauthorized).toBe(1);
  });

  it('answers requests over DEALER/ROUTER with CURVE, and never answers an unlisted client', async () => {
    const worker = await startWorker(
      {
        endpoints: [LOOPBACK_ANY_PORT],
        kind: 'dealer-router',
        logInterval: 60_000,
        curve: { secretKey: serverKeys.secretKey, allowClients: [clientKeys.publicKey] },
      },
      [SumController],
    );
    workers.push(worker);
    const friend = connect(worker, clientCurve(), { kind: 'dealer-router', requestTimeout: 2_000 });
    expect(await firstValueFrom(friend.send<number>('sum', [1, 2, 3]))).toBe(6);
    expect(friend.unwrap<Record<string, zmq.Dealer>>().default.securityMechanism).toBe('curve');

    const intruder = connect(worker, clientCurve(intruderKeys), { kind: 'dealer-router', requestTimeout: 2_000 });
    await expect(firstValueFrom(intruder.send<number>('sum', [1]))).rejects.toThrow(/curve\.allowClients/);
    expect(worker.server.getMetrics()).toMatchObject({ received: 1, unauthorized: 1 });
  });

  it('reads keys from files written by keygen, and refuses a secret key file others can read', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nzmq-keys-'));
    dirs.push(dir);
    const server = writeKeyPair(join(dir, 'server'));
    const client = writeKeyPair(join(dir, 'client'));
    const worker = await serve({ secretKey: { file: server.secretKeyFile }, allowClients: [{ file: client.publicKeyFile }] });
    const sender = connect(worker, { secretKey: { file: client.secretKeyFile }, serverPublicKey: { file: server.publicKeyFile } });
    await emit(sender, { fromFiles: true });
    expect((await worker.received.waitFor(1))[0].data).toEqual({ fromFiles: true });

    chmodSync(server.secretKeyFile, 0o640);
    expect(() => new ZeroMqServer({ endpoints: [LOOPBACK_ANY_PORT], curve: { secretKey: { file: server.secretKeyFile } } })).toThrow(
      new RegExp(`can be read or written by other users \\(mode 0640\\); restrict it with: chmod 600 ${server.secretKeyFile}`),
    );
    expect(() => new ZeroMqServer({ endpoints: [LOOPBACK_ANY_PORT], curve: { secretKey: { file: server.secretKeyFile } } })).toThrow(
      ZeroMqOptionsError,
    );
  });

  it('closes its ZAP handler with the last CURVE server, so a later one starts it again', async () => {
    await serve({ secretKey: serverKeys.secretKey, allowClients: [clientKeys.publicKey] });
    await workers.pop()!.app.close();
    const zap = new zmq.Router({ linger: 0 });
    sockets.push(zap);
    // Free again (libzmq releases a closed socket's name asynchronously): binding it proves the handler let go of it.
    await bindRetrying(zap, 'inproc://zeromq.zap.01');
    zap.close();
    const second = await serve({ secretKey: serverKeys.secretKey, allowClients: [clientKeys.publicKey] });
    await emit(connect(second, clientCurve()), { again: true });
    expect((await second.received.waitFor(1))[0].data).toEqual({ again: true });
    expect((await emitError(connect(second, clientCurve(intruderKeys)), {})).code).toBe('SEND_TIMEOUT');
  });
});
