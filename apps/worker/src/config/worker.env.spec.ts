import { workerEnvSchema } from './worker.env.js';

describe('worker environment', () => {
  it('splits address lists and applies the defaults', () => {
    const env = workerEnvSchema.parse({ WORKER_ENDPOINTS: ' tcp://127.0.0.1:5557 , ipc:///tmp/orders.sock,', WORKER_NAME: 'w1' });
    expect(env).toEqual({
      WORKER_NAME: 'w1',
      WORKER_ENDPOINTS: ['tcp://127.0.0.1:5557', 'ipc:///tmp/orders.sock'],
      WORKER_BIND: true,
      WORKER_KIND: 'push-pull',
      WORKER_CONCURRENCY: 8,
      WORKER_HASH_ITERATIONS: 1_000,
      WORKER_HTTP_HOST: '127.0.0.1',
      LOG_LEVEL: 'log',
      LOG_FORMAT: 'text',
    });
  });

  it('reads booleans and numbers from their text', () => {
    const env = workerEnvSchema.parse({
      WORKER_ENDPOINTS: 'tcp://10.0.0.5:5557',
      WORKER_TASKS_ENDPOINTS: 'tcp://10.0.0.5:5558',
      WORKER_BIND: 'false',
      WORKER_CONCURRENCY: '32',
      LOG_FORMAT: 'json',
    });
    expect(env).toMatchObject({
      WORKER_TASKS_ENDPOINTS: ['tcp://10.0.0.5:5558'],
      WORKER_BIND: false,
      WORKER_CONCURRENCY: 32,
      LOG_FORMAT: 'json',
    });
  });

  it('names every bad variable', () => {
    const result = workerEnvSchema.safeParse({ WORKER_ENDPOINTS: ',', WORKER_CONCURRENCY: '-1', LOG_LEVEL: 'loud' });
    expect(result.error?.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`)).toEqual([
      'WORKER_ENDPOINTS: must list at least one address',
      'WORKER_CONCURRENCY: Too small: expected number to be >0',
      'LOG_LEVEL: Invalid option: expected one of "fatal"|"error"|"warn"|"log"|"debug"|"verbose"',
    ]);
  });
});
