import type { FactoryProvider } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ZeroMqServer, type ZeroMqServerOptions, type ZeroMqServerRoute } from 'nestjs-zeromq';
import { registerZeroMqServerMetrics } from 'nestjs-zeromq/prometheus';
import type { Registry } from 'prom-client';
import { METRICS_REGISTRY } from '../../../common/src/observability/metrics-registry.js';
import { PRICE_EVENTS } from '../../../common/src/prices.contract.js';
import { PLAIN_TASK } from '../tasks/plain-task.js';
import type { WorkerEnv } from './worker.env.js';

/**
 * The worker's transport, built from the environment. Orders arrive on the default socket;
 * plain-text tasks from non-Nest producers get a socket of their own (so that they never take
 * the orders' concurrency slots), and every single-frame message goes to the PLAIN_TASK handler.
 * Price changes arrive as broadcasts on a `'pub-sub'` socket connected to the producers.
 * Its metrics go to the app's registry (served on `/metrics` when the worker has an HTTP port).
 */
export const zeroMqServerProvider: FactoryProvider<ZeroMqServer> = {
  provide: ZeroMqServer,
  inject: [ConfigService, METRICS_REGISTRY],
  useFactory: (config: ConfigService<WorkerEnv, true>, registry: Registry) => {
    const bind = config.get('WORKER_BIND', { infer: true });
    const endpoints = (addresses: string[]) => addresses.map((address) => ({ address, bind }));
    const tasks = config.get('WORKER_TASKS_ENDPOINTS', { infer: true });
    const broadcasts = config.get('WORKER_BROADCAST_ENDPOINTS', { infer: true });
    const routes: ZeroMqServerRoute[] = [];
    if (tasks !== undefined) {
      // Plain producers push: the tasks socket is a PULL whatever the orders socket is.
      routes.push({ name: 'tasks', patterns: [PLAIN_TASK], endpoints: endpoints(tasks), kind: 'push-pull' });
    }
    if (broadcasts !== undefined) {
      const connect = broadcasts.map((address) => ({ address, bind: false }));
      routes.push({ name: 'prices', kind: 'pub-sub', patterns: [PRICE_EVENTS], endpoints: connect });
    }
    const server = new ZeroMqServer({
      endpoints: endpoints(config.get('WORKER_ENDPOINTS', { infer: true })),
      kind: config.get('WORKER_KIND', { infer: true }),
      routes,
      concurrency: config.get('WORKER_CONCURRENCY', { infer: true }),
      plainMessages: { pattern: PLAIN_TASK, decoding: 'utf8' },
      curve: curveOptions(config),
    });
    registerZeroMqServerMetrics(server, { registry, name: config.get('WORKER_NAME', { infer: true }) });
    return server;
  },
};

/** CURVE from the environment: on when a secret key file is set, with the allow-list if any. */
function curveOptions(config: ConfigService<WorkerEnv, true>): ZeroMqServerOptions['curve'] {
  const secretKeyFile = config.get('WORKER_CURVE_SECRET_KEY_FILE', { infer: true });
  if (secretKeyFile === undefined) {
    return undefined;
  }
  const keys = config.get('WORKER_CURVE_ALLOW_CLIENT_KEYS', { infer: true }) ?? [];
  const files = (config.get('WORKER_CURVE_ALLOW_CLIENT_KEY_FILES', { infer: true }) ?? []).map((file) => ({ file }));
  const allowClients = [...keys, ...files];
  return { secretKey: { file: secretKeyFile }, ...(allowClients.length > 0 ? { allowClients } : {}) };
}
