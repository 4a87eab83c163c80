import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { ClientNats, ClientRedis, ClientTCP, Transport } from '@nestjs/microservices';
import getPort from 'get-port';
import { ZeroMqClient, ZeroMqServer } from 'nestjs-zeromq';
import { registerZeroMqClientMetrics, registerZeroMqServerMetrics } from 'nestjs-zeromq/prometheus';
import { Registry } from 'prom-client';
import { benchCurveKeys } from '../curve-keys.js';
import { BENCH_PATTERN } from '../message.js';
import { nestTransportDriver } from './nest-transport.js';

const LOOPBACK = '127.0.0.1';

/** Nest TCP's emit() resolves before the bytes are written; past this, the producer waits for 'drain'. */
const TCP_SEND_BUFFER_MARK = 4 * 1024 * 1024;

function hostAndPort(url: string): { host: string; port: number } {
  const parsed = new URL(url);
  return { host: parsed.hostname, port: Number(parsed.port) };
}

/** nestjs-zeromq with its default options: ZeroMqServer bound, ZeroMqClient connecting. */
export const nestjsZeroMqAtMostOnce = nestTransportDriver({
  server: async () => {
    const server = new ZeroMqServer({ endpoints: [`tcp://${LOOPBACK}:*`] });
    return { options: { strategy: server }, endpoint: () => server.getAddresses().default[0] };
  },
  client: (endpoint) => new ZeroMqClient({ endpoints: [endpoint] }),
});

/** nestjs-zeromq at-most-once with CURVE on both sides and an allow-list (ZAP) on the server. */
/**
 * nestjs-zeromq at-most-once with Prometheus metrics registered on both sides (handler duration
 * and emit-to-handler latency histograms through the hooks, totals read at scrape time).
 */
export const nestjsZeroMqWithMetrics = nestTransportDriver({
  server: async () => {
    const server = new ZeroMqServer({ endpoints: [`tcp://${LOOPBACK}:*`] });
    registerZeroMqServerMetrics(server, { registry: new Registry() });
    return { options: { strategy: server }, endpoint: () => server.getAddresses().default[0] };
  },
  client: (endpoint) => {
    const client = new ZeroMqClient({ endpoints: [endpoint] });
    registerZeroMqClientMetrics(client, { registry: new Registry() });
    return client;
  },
});

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

/** Nest's built-in TCP transport, for events (`call: 'emit'`) or requests (`'send'`). */
function nestTcpDriver(call: 'emit' | 'send') {
  return nestTransportDriver({
    call,
    server: async () => {
      const port = await getPort({ host: LOOPBACK });
      return {
        options: { transport: Transport.TCP, options: { host: LOOPBACK, port } },
        endpoint: () => `tcp://${LOOPBACK}:${port}`,
      };
    },
    client: (endpoint) => new ClientTCP(hostAndPort(endpoint)),
    // Without this the producer outruns the consumer until Nest's 128 MB send-buffer limit
    // destroys the connection: emit() has no backpressure of its own.
    relieve: async (client) => {
      const socket = client.unwrap<import('node:net').Socket>();
      if (socket.writableLength > TCP_SEND_BUFFER_MARK) {
        await once(socket, 'drain');
      } else {
        await nextTurn();
      }
    },
  });
}

export const nestTcp = nestTcpDriver('emit');
export const nestTcpRequestResponse = nestTcpDriver('send');

/** Nest's Redis transport (pub/sub through a redis-server). */
export const nestRedis = nestTransportDriver({
  server: async (service) => ({
    options: { transport: Transport.REDIS, options: hostAndPort(service!) },
    endpoint: () => service!,
  }),
  client: (endpoint) => new ClientRedis(hostAndPort(endpoint)),
});

/** Nest's NATS transport (core NATS publish/subscribe through a nats-server). */
export const nestNats = nestTransportDriver({
  server: async (service) => ({
    options: { transport: Transport.NATS, options: { servers: [service!] } },
    endpoint: () => service!,
  }),
  client: (endpoint) => new ClientNats({ servers: [endpoint] }),
  // publish() only buffers; flush() waits until the server has everything sent so far.
  relieve: (client) => client.unwrap<{ flush(): Promise<void> }>().flush(),
});
