import { resolveClientOptions } from '../options/resolve-options.js';
import { SOCKET_KINDS, socketKind } from './kinds.js';
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
});
