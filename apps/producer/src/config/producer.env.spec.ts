import { producerEnvSchema } from './producer.env.js';

const issues = (env: Record<string, string>) =>
  producerEnvSchema
    .safeParse({ PRODUCER_ENDPOINTS: 'tcp://127.0.0.1:5557', ...env })
    .error?.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);

describe('producer environment: the durable outbox', () => {
  it('reads the outbox path, durability and bound with at-least-once delivery', () => {
    const env = producerEnvSchema.parse({
      PRODUCER_ENDPOINTS: 'tcp://127.0.0.1:5557',
      PRODUCER_DELIVERY: 'at-least-once',
      PRODUCER_OUTBOX_PATH: ' /var/lib/orders-producer/outbox ',
      PRODUCER_OUTBOX_DURABILITY: 'flush',
      PRODUCER_OUTBOX_MAX_BYTES: '268435456',
    });
    expect(env).toMatchObject({
      PRODUCER_OUTBOX_PATH: '/var/lib/orders-producer/outbox',
      PRODUCER_OUTBOX_DURABILITY: 'flush',
      PRODUCER_OUTBOX_MAX_BYTES: 268_435_456,
    });
  });

  it('has no outbox by default', () => {
    expect(producerEnvSchema.parse({ PRODUCER_ENDPOINTS: 'tcp://127.0.0.1:5557' }).PRODUCER_OUTBOX_PATH).toBeUndefined();
  });

  it('refuses an outbox without at-least-once delivery, outbox settings without a path, and bad values', () => {
    expect(issues({ PRODUCER_OUTBOX_PATH: '/data/outbox' })).toEqual([
      'PRODUCER_OUTBOX_PATH: needs PRODUCER_DELIVERY=at-least-once (the outbox keeps each order until a worker has handled it)',
    ]);
    expect(issues({ PRODUCER_DELIVERY: 'at-least-once', PRODUCER_OUTBOX_MAX_BYTES: '1000' })).toEqual([
      'PRODUCER_OUTBOX_PATH: PRODUCER_OUTBOX_DURABILITY and PRODUCER_OUTBOX_MAX_BYTES need PRODUCER_OUTBOX_PATH',
    ]);
    expect(
      issues({
        PRODUCER_DELIVERY: 'at-least-once',
        PRODUCER_OUTBOX_PATH: '/data/outbox',
        PRODUCER_OUTBOX_DURABILITY: 'fsync',
        PRODUCER_OUTBOX_MAX_BYTES: '0',
      }),
    ).toEqual([
      'PRODUCER_OUTBOX_DURABILITY: Invalid option: expected one of "commit"|"flush"',
      'PRODUCER_OUTBOX_MAX_BYTES: Too small: expected number to be >0',
    ]);
  });
});
