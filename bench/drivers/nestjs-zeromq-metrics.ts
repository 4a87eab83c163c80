import { ZeroMqClient, ZeroMqServer } from 'nestjs-zeromq';
import { registerZeroMqClientMetrics, registerZeroMqServerMetrics } from 'nestjs-zeromq/prometheus';
import { Registry } from 'prom-client';
import { nestTransportDriver } from './nest-transport.js';

const LOOPBACK = '127.0.0.1';

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
