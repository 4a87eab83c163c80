import type { LoggerService } from '@nestjs/common';
import * as zmq from 'zeromq';
import { eventually, within } from '../../../test/waiting.js';
import { ZeroMqSocketEventType, ZeroMqStatus, type ZeroMqSocketEvent } from '../../zeromq.events.js';
import type { SocketPlan } from '../options/plans.js';
import { RateLimitedLog } from '../util/rate-limited-log.js';
import { SocketGroup } from './socket-group.js';

const pullPlan = (name: string): SocketPlan => ({
  name,
  kind: 'push-pull',
  endpoints: [{ address: 'tcp://127.0.0.1:*', bind: true }],
  patterns: [],
});

/** A group of PULL sockets that records its statuses, events and warnings. */
function group(socketOptions: zmq.SocketOptions<zmq.Pull> = {}) {
  const statuses: ZeroMqStatus[] = [];
  const events: ZeroMqSocketEvent[] = [];
  const warnings: string[] = [];
  const logger: LoggerService = { log: () => undefined, error: () => undefined, warn: (line: string) => warnings.push(line) };
  const sockets = new SocketGroup<zmq.Pull>(
    (status) => statuses.push(status),
    (event) => events.push(event),
    new RateLimitedLog(logger, 60_000),
    'server',
  );
  const open = (...names: string[]) => sockets.open(names.map(pullPlan), () => new zmq.Pull({ linger: 0, ...socketOptions }));
  /** The statuses set so far, repeats of the same one collapsed. */
  const transitions = () => statuses.filter((status, i) => status !== statuses[i - 1]);
  return { sockets, statuses, transitions, events, warnings, open };
}

/** PUSH sockets connected to `address`, closed by the returned function. */
function pushers(address: string, count: number, options: zmq.SocketOptions<zmq.Push> = {}) {
  const sockets = Array.from({ length: count }, () => new zmq.Push({ linger: 0, ...options }));
  sockets.forEach((socket) => socket.connect(address));
  return { sockets, close: () => sockets.forEach((socket) => socket.close()) };
}

describe('SocketGroup', () => {
  it('goes connecting → disconnected → connected → disconnected → closed as peers come and go', async () => {
    const { sockets, transitions, open } = group();
    await open('in');
    expect(transitions()).toEqual([ZeroMqStatus.CONNECTING, ZeroMqStatus.DISCONNECTED]);
    const address = sockets.addresses().in[0];
    expect(address).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
    expect(address).not.toBe('tcp://127.0.0.1:*');
    const peers = pushers(address, 1);
    await eventually(transitions, (seen) => seen.at(-1) === ZeroMqStatus.CONNECTED);
    peers.close();
    await eventually(transitions, (seen) => seen.at(-1) === ZeroMqStatus.DISCONNECTED);
    sockets.close();
    expect(transitions()).toEqual([
      ZeroMqStatus.CONNECTING,
      ZeroMqStatus.DISCONNECTED,
      ZeroMqStatus.CONNECTED,
      ZeroMqStatus.DISCONNECTED,
      ZeroMqStatus.CLOSED,
    ]);
  });

  it('counts live connections per socket and forwards their events by socket name', async () => {
    const { sockets, events, open } = group();
    await open('orders', 'audit');
    const addresses = sockets.addresses();
    const orders = pushers(addresses.orders[0], 2);
    const audit = pushers(addresses.audit[0], 1);
    try {
      await eventually(
        () => sockets.connections(),
        (counts) => counts.orders === 2 && counts.audit === 1,
      );
      orders.sockets[0].close();
      const counts = await eventually(
        () => sockets.connections(),
        (now) => now.orders === 1,
      );
      expect(counts).toEqual({ orders: 1, audit: 1 });
      const accepts = events.filter((event) => event.type === ZeroMqSocketEventType.ACCEPT).map((event) => event.socket);
      expect(accepts.sort()).toEqual(['audit', 'orders', 'orders']);
      expect(events.find((event) => event.type === ZeroMqSocketEventType.BIND)).toMatchObject({
        socket: 'orders',
        address: addresses.orders[0],
      });
      expect(events.some((event) => event.type === ZeroMqSocketEventType.DISCONNECT && event.socket === 'orders')).toBe(true);
    } finally {
      orders.close();
      audit.close();
      sockets.close();
    }
    expect(sockets.connections()).toEqual({});
  });

  it('unwrap() throws the given text before open and after close, and gives the sockets by name while open', async () => {
    const { sockets, open } = group();
    expect(sockets.isOpen).toBe(false);
    expect(() => sockets.unwrap('Not initialized. Please call the "listen"/"startAllMicroservices" method first.')).toThrow(
      new Error('Not initialized. Please call the "listen"/"startAllMicroservices" method first.'),
    );
    const [managed] = await open('in');
    const unwrapped = sockets.unwrap('unused');
    expect(Object.keys(unwrapped)).toEqual(['in']);
    expect(unwrapped.in).toBe(managed.socket);
    expect(unwrapped.in).toBeInstanceOf(zmq.Pull);
    sockets.close();
    expect(managed.socket.closed).toBe(true);
    expect(() => sockets.unwrap('closed now')).toThrow('closed now');
  });

  it('closes what it opened and rethrows when one socket cannot be made', async () => {
    const { sockets, transitions } = group();
    const made: zmq.Pull[] = [];
    const opening = sockets.open([pullPlan('first'), pullPlan('second')], (plan) => {
      if (plan.name === 'second') {
        throw new Error('cannot make "second"');
      }
      const socket = new zmq.Pull({ linger: 0 });
      made.push(socket);
      return socket;
    });
    await expect(opening).rejects.toThrow('cannot make "second"');
    expect(made.map((socket) => socket.closed)).toEqual([true]);
    expect(sockets.isOpen).toBe(false);
    // The first socket's bind event may or may not report 'disconnected' before the failure; closed is final.
    await new Promise((resolve) => setImmediate(resolve));
    expect(transitions()[0]).toBe(ZeroMqStatus.CONNECTING);
    expect(transitions().at(-1)).toBe(ZeroMqStatus.CLOSED);
    expect(transitions()).not.toContain(ZeroMqStatus.CONNECTED);
  });

  it('adds the last failed handshake to an error detail, and logs the failure', async () => {
    const server = zmq.curveKeyPair();
    const { sockets, warnings, open } = group({ curveServer: true, curveSecretKey: server.secretKey });
    await open('secured');
    const address = sockets.addresses().secured[0];
    expect(sockets.withHandshakeFailure('secured', 'no peer took it')).toBe('no peer took it');
    const plaintext = pushers(address, 1);
    try {
      await eventually(
        () => warnings.length,
        (count) => count > 0,
      );
      const reason = 'the peer does not use CURVE (a plaintext peer, or one without the curve option)';
      expect(warnings[0]).toBe(`Socket "secured": handshake with ${address} failed: ${reason}`);
      expect(sockets.withHandshakeFailure('secured', 'no peer took it')).toBe(
        `no peer took it; the last handshake with ${address} failed: ${reason}`,
      );
      expect(sockets.withHandshakeFailure('unknown', 'detail')).toBe('detail');

      // A successful handshake clears it.
      const client = zmq.curveKeyPair();
      const secured = pushers(address, 1, {
        curveServerKey: server.publicKey,
        curvePublicKey: client.publicKey,
        curveSecretKey: client.secretKey,
      });
      try {
        await within(secured.sockets[0].send('hello'), 5_000, 'a CURVE send');
        await eventually(
          () => sockets.withHandshakeFailure('secured', 'detail'),
          (detail) => detail === 'detail',
        );
      } finally {
        secured.close();
      }
    } finally {
      plaintext.close();
      sockets.close();
    }
  });
});
