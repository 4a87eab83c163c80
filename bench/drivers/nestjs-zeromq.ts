import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ZeroMqClient, ZeroMqServer } from 'nestjs-zeromq';
import { benchCurveKeys } from '../curve-keys.js';
import { BENCH_PATTERN } from '../message.js';
import { nestTransportDriver } from './nest-transport.js';

/**
 * The nestjs-zeromq rows. A row's processes load only its driver's module: with the other
 * transports' clients, prom-client and the metrics module loaded too, nestjs-zeromq's request-
 * response row measured about 20% below the same build loaded alone (the baseline row's way).
 */

const LOOPBACK = '127.0.0.1';

/** nestjs-zeromq with its default options: ZeroMqServer bound, ZeroMqClient connecting. */
export const nestjsZeroMqAtMostOnce = nestTransportDriver({
  server: async () => {
    const server = new ZeroMqServer({ endpoints: [`tcp://${LOOPBACK}:*`] });
    return { options: { strategy: server }, endpoint: () => server.getAddresses().default[0] };
  },
  client: (endpoint) => new ZeroMqClient({ endpoints: [endpoint] }),
});

/** nestjs-zeromq at-most-once with CURVE on both sides and an allow-list (ZAP) on the server. */
export const nestjsZeroMqCurve = nestTransportDriver({
  server: async () => {
    const { server: keys, client } = benchCurveKeys();
    const server = new ZeroMqServer({
      endpoints: [`tcp://${LOOPBACK}:*`],
      curve: { secretKey: keys.secretKey, allowClients: [client.publicKey] },
    });
    return { options: { strategy: server }, endpoint: () => server.getAddresses().default[0] };
  },
  client: (endpoint) => {
    const { server, client } = benchCurveKeys();
    return new ZeroMqClient({ endpoints: [endpoint], curve: { secretKey: client.secretKey, serverPublicKey: server.publicKey } });
  },
});

/** nestjs-zeromq at-least-once: DEALER/ROUTER, emit() resolves when the worker has acked. */
export const nestjsZeroMqAtLeastOnce = nestTransportDriver({
  server: async () => {
    const server = new ZeroMqServer({ kind: 'dealer-router', endpoints: [`tcp://${LOOPBACK}:*`] });
    return { options: { strategy: server }, endpoint: () => server.getAddresses().default[0] };
  },
  client: (endpoint) => new ZeroMqClient({ kind: 'dealer-router', delivery: 'at-least-once', endpoints: [endpoint] }),
});

/**
 * nestjs-zeromq at-least-once with a key per message (one in flight per key): the keys go round
 * `keys` values in emission order, so 1,000 keys keep about as many messages in flight as the
 * harness's window, and one key carries one message per round trip.
 */
function nestjsZeroMqKeyed(keys: number) {
  return nestTransportDriver({
    server: async () => {
      const server = new ZeroMqServer({ kind: 'dealer-router', endpoints: [`tcp://${LOOPBACK}:*`] });
      return { options: { strategy: server }, endpoint: () => server.getAddresses().default[0] };
    },
    client: (endpoint) => {
      let emitted = 0;
      return new ZeroMqClient({
        kind: 'dealer-router',
        delivery: 'at-least-once',
        endpoints: [endpoint],
        key: () => `k${emitted++ % keys}`,
      });
    },
  });
}

export const nestjsZeroMqKeyed1000 = nestjsZeroMqKeyed(1_000);
export const nestjsZeroMqHotKey = nestjsZeroMqKeyed(1);

/** A fresh outbox directory for a producer process, removed when the process exits. */
function benchOutboxPath(): string {
  const directory = mkdtempSync(join(tmpdir(), 'nestjs-zeromq-bench-outbox-'));
  process.once('exit', () => rmSync(directory, { recursive: true, force: true }));
  return join(directory, 'outbox');
}

/**
 * nestjs-zeromq at-least-once with a durable outbox at `durability`: every emit is stored (LMDB on
 * this machine's disk) before it resolves, and removed on its ack. The consumer's rate is the row's.
 */
function nestjsZeroMqOutbox(durability: 'commit' | 'flush') {
  return nestTransportDriver({
    server: async () => {
      const server = new ZeroMqServer({ kind: 'dealer-router', endpoints: [`tcp://${LOOPBACK}:*`] });
      return { options: { strategy: server }, endpoint: () => server.getAddresses().default[0] };
    },
    client: (endpoint) =>
      new ZeroMqClient({
        kind: 'dealer-router',
        delivery: 'at-least-once',
        endpoints: [endpoint],
        outbox: { path: benchOutboxPath(), durability },
      }),
  });
}

export const nestjsZeroMqOutboxCommit = nestjsZeroMqOutbox('commit');
export const nestjsZeroMqOutboxFlush = nestjsZeroMqOutbox('flush');

/** nestjs-zeromq request-response: `send()` over DEALER to a ROUTER, replies awaited. */
export const nestjsZeroMqRequestResponse = nestTransportDriver({
  call: 'send',
  server: async () => {
    const server = new ZeroMqServer({ kind: 'dealer-router', endpoints: [`tcp://${LOOPBACK}:*`] });
    return { options: { strategy: server }, endpoint: () => server.getAddresses().default[0] };
  },
  client: (endpoint) => new ZeroMqClient({ kind: 'dealer-router', endpoints: [endpoint] }),
});

/** How long a broadcast producer waits for its subscribers' subscriptions. */
const SUBSCRIBE_TIMEOUT_MS = 10_000;

/**
 * nestjs-zeromq broadcast: every subscriber a ZeroMqServer of kind 'pub-sub' (a bound SUB socket);
 * the publisher a ZeroMqClient of that kind (an XPUB) connected to all of them, which starts once
 * every subscriber's subscription has reached it (`waitForSubscribers`).
 */
export const nestjsZeroMqBroadcast = nestTransportDriver({
  server: async () => {
    const server = new ZeroMqServer({ kind: 'pub-sub', endpoints: [`tcp://${LOOPBACK}:*`] });
    return { options: { strategy: server }, endpoint: () => server.getAddresses().default[0] };
  },
  client: (_endpoint, peers) => new ZeroMqClient({ kind: 'pub-sub', endpoints: peers.endpoints }),
  ready: (client, peers) => client.waitForSubscribers(BENCH_PATTERN, peers.subscribers, SUBSCRIBE_TIMEOUT_MS),
});
