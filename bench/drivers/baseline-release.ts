import { pathToFileURL } from 'node:url';
import type { ZeroMqClient, ZeroMqServer } from 'nestjs-zeromq';
import { nestTransportDriver } from './nest-transport.js';

/**
 * The same rows against an earlier build of the library, for before/after tables from one run:
 * `NESTJS_ZEROMQ_BASELINE` names that build's `dist` folder (for example a worktree of the
 * previous release, built, whose node_modules resolve to this repository's).
 */
export const BASELINE_ENV = 'NESTJS_ZEROMQ_BASELINE';

const LOOPBACK = '127.0.0.1';

interface Library {
  ZeroMqServer: new (options: object) => ZeroMqServer;
  ZeroMqClient: new (options: object) => ZeroMqClient;
}

async function baseline(): Promise<Library> {
  const dist = process.env[BASELINE_ENV];
  if (dist === undefined) {
    throw new Error(`${BASELINE_ENV} is not set: it names the dist folder of the build to compare with`);
  }
  return (await import(pathToFileURL(`${dist}/index.js`).href)) as Library;
}

function baselineDriver(kind: 'push-pull' | 'dealer-router', client: object, call: 'emit' | 'send' = 'emit') {
  return async () => {
    const { ZeroMqServer, ZeroMqClient } = await baseline();
    return nestTransportDriver({
      call,
      server: async () => {
        const server = new ZeroMqServer({ kind, endpoints: [`tcp://${LOOPBACK}:*`] });
        return { options: { strategy: server }, endpoint: () => server.getAddresses().default[0] };
      },
      client: (endpoint) => new ZeroMqClient({ kind, endpoints: [endpoint], ...client }),
    });
  };
}

export const baselineAtMostOnce = baselineDriver('push-pull', {});
export const baselineAtLeastOnce = baselineDriver('dealer-router', { delivery: 'at-least-once' });
export const baselineRequestResponse = baselineDriver('dealer-router', {}, 'send');
