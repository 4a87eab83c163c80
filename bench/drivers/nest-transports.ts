import { once } from 'node:events';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { ClientNats, ClientRedis, ClientTCP, Transport } from '@nestjs/microservices';
import getPort from 'get-port';
import { nestTransportDriver } from './nest-transport.js';

const LOOPBACK = '127.0.0.1';

/** Nest TCP's emit() resolves before the bytes are written; past this, the producer waits for 'drain'. */
const TCP_SEND_BUFFER_MARK = 4 * 1024 * 1024;

function hostAndPort(url: string): { host: string; port: number } {
  const parsed = new URL(url);
  return { host: parsed.hostname, port: Number(parsed.port) };
}

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
