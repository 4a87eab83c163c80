import type * as zmq from 'zeromq';
import { resolveClientOptions, resolveServerOptions } from '../options/resolve-options.js';
import { createServerSocket, SOCKET_KINDS, socketKind } from './kinds.js';
import { clientSocketOptions } from './socket-options.js';

describe('clientSocketOptions', () => {
  const config = (options: Parameters<typeof resolveClientOptions>[0] = {}) =>
    resolveClientOptions({ endpoints: ['tcp://127.0.0.1:5557'], ...options }, String, socketKind);

  it('bounds the pipe of a blocking socket in bytes by default (maxQueueBytes / maxBatchBytes), a PUB keeps 1000, a set value wins', () => {
    expect(clientSocketOptions(config(), SOCKET_KINDS['push-pull']).sendHighWaterMark).toBe(256);
    expect(clientSocketOptions(config(), SOCKET_KINDS['dealer-router']).sendHighWaterMark).toBe(256);
    expect(clientSocketOptions(config({ maxQueueBytes: 1024 * 1024 }), SOCKET_KINDS['push-pull']).sendHighWaterMark).toBe(16);
    expect(clientSocketOptions(config(), SOCKET_KINDS['pub-sub']).sendHighWaterMark).toBe(1000);
    expect(clientSocketOptions(config({ sendHighWaterMark: 50 }), SOCKET_KINDS['pub-sub']).sendHighWaterMark).toBe(50);
    expect(clientSocketOptions(config({ sendHighWaterMark: 5000 }), SOCKET_KINDS['push-pull']).sendHighWaterMark).toBe(5000);
  });

  it('bounds the replies ZeroMQ queues for a socket that carries them in bytes (receiveBudget / maxMessageSize)', () => {
    const MiB = 1024 * 1024;
    const receiving = (options: Parameters<typeof config>[0], kind: keyof typeof SOCKET_KINDS) => {
      const { maxMessageSize, receiveHighWaterMark } = clientSocketOptions(config(options), SOCKET_KINDS[kind]) as Record<string, unknown>;
      return [maxMessageSize, receiveHighWaterMark];
    };
    expect(receiving({}, 'dealer-router')).toEqual([8 * MiB, 8]);
    expect(receiving({ receiveBudget: 16 * MiB, maxMessageSize: MiB }, 'dealer-router')).toEqual([MiB, 16]);
    expect(receiving({}, 'push-pull')).toEqual([undefined, undefined]);
  });
});

describe('createServerSocket', () => {
  it("sizes each socket's ZeroMQ queue from its own plan: its share of the receive budget, or its route's budget", () => {
    const MiB = 1024 * 1024;
    const config = resolveServerOptions(
      {
        endpoints: ['tcp://127.0.0.1:5557'],
        receiveBudget: 16 * MiB,
        maxMessageSize: MiB,
        routes: [{ name: 'big', patterns: ['big'], endpoints: ['tcp://127.0.0.1:5558'], receiveBudget: 64 * MiB }],
      },
      String,
      socketKind,
    );
    const sockets = config.sockets.map((plan) => createServerSocket(config, plan) as zmq.Pull);
    try {
      expect(sockets.map((socket) => [socket.receiveHighWaterMark, socket.maxMessageSize])).toEqual([
        [16, MiB],
        [64, MiB],
      ]);
    } finally {
      sockets.forEach((socket) => socket.close());
    }
  });
});
