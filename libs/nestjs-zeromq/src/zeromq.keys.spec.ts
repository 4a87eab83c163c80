import { firstValueFrom } from 'rxjs';
import * as zmq from 'zeromq';
import { Registry } from 'prom-client';
import { ZeroMqClient } from './zeromq.client.js';
import { ZeroMqServer } from './zeromq.server.js';
import { registerZeroMqClientMetrics } from './metrics/client-metrics.js';
import { registerZeroMqServerMetrics } from './metrics/server-metrics.js';
import { ZeroMqRecordBuilder } from './record-builders/zeromq.record-builder.js';
import { boundAddress, startWorker, type Worker } from '../test/nest-apps.js';
import { LOOPBACK_ANY_PORT } from '../test/endpoints.js';
import { eventually } from '../test/waiting.js';

const emit = (client: ZeroMqClient, data: unknown) => firstValueFrom(client.emit('orders.created', data), { defaultValue: undefined });

describe('Keys and expiry (at-most-once, in process)', () => {
  const workers: Worker[] = [];
  const clients: ZeroMqClient[] = [];
  const sockets: zmq.Socket[] = [];

  afterEach(async () => {
    for (const socket of sockets.splice(0)) {
      socket.close();
    }
    await Promise.all(clients.splice(0).map((client) => client.close()));
    await Promise.all(workers.splice(0).map((worker) => worker.app.close()));
  });

  it('sticks each key to one worker while the set is stable, in order, and gives handlers the key', async () => {
    for (let i = 0; i < 2; i++) {
      workers.push(await startWorker({ endpoints: [LOOPBACK_ANY_PORT], kind: 'dealer-router' }));
    }
    const client = new ZeroMqClient({
      endpoints: workers.map((worker) => boundAddress(worker.server)),
      kind: 'dealer-router',
      key: (data) => (data as { key: string }).key,
    });
    clients.push(client);
    await client.connect();
    const keys = Array.from({ length: 20 }, (_, i) => `key-${i}`);
    for (let seq = 0; seq < 10; seq++) {
      await Promise.all(keys.map((key) => emit(client, { key, seq })));
    }
    // A record's key wins over the key function.
    await emit(client, new ZeroMqRecordBuilder({ key: 'key-0', seq: 10 }).setKey('override').build());
    await eventually(
      () => workers.reduce((sum, worker) => sum + worker.received.items.length, 0),
      (count) => count === 201,
    );
    const holders = new Map<string, Set<number>>();
    const seqs = new Map<string, number[]>();
    workers.forEach((worker, index) => {
      for (const { data, context } of worker.received.items) {
        const key = context.getKey()!;
        holders.set(key, (holders.get(key) ?? new Set()).add(index));
        seqs.set(key, [...(seqs.get(key) ?? []), (data as { seq: number }).seq]);
      }
    });
    expect([...holders.values()].every((holder) => holder.size === 1)).toBe(true);
    expect(new Set([...holders.values()].map((holder) => [...holder][0]))).toEqual(new Set([0, 1]));
    expect(keys.every((key) => seqs.get(key)!.join() === '0,1,2,3,4,5,6,7,8,9')).toBe(true);
    expect(seqs.get('override')).toEqual([10]);
  });

  it('a worker drops, counts and does not handle a message that arrives expired; a plain peer may set the expiry and key', async () => {
    const worker = await startWorker({ endpoints: [LOOPBACK_ANY_PORT], logInterval: 60_000 });
    workers.push(worker);
    const push = new zmq.Push({ linger: 0 });
    sockets.push(push);
    push.connect(boundAddress(worker.server));
    const info = (metadata: Record<string, string>) => `j${JSON.stringify(metadata)}`;
    await push.send(['NZ1E', 'orders.created', info({ 'nz-expires-at': String(Date.now() - 1) }), '{"late":true}']);
    await push.send(['NZ1E', 'orders.created', info({ 'nz-expires-at': String(Date.now() + 60_000), 'nz-key': 'k' }), '{"late":false}']);
    const [message] = await worker.received.waitFor(1);
    expect(message.data).toEqual({ late: false });
    expect(message.context.getKey()).toBe('k');
    await eventually(
      () => worker.server.getMetrics().expired,
      (expired) => expired === 1,
    );
    expect(worker.received.items).toHaveLength(1);
  });

  it('exports the key gauges and expired counters to Prometheus', async () => {
    const registry = new Registry();
    const client = new ZeroMqClient({ endpoints: [LOOPBACK_ANY_PORT], delivery: 'at-least-once' });
    clients.push(client);
    registerZeroMqClientMetrics(client, { registry });
    registerZeroMqServerMetrics(new ZeroMqServer({ endpoints: [LOOPBACK_ANY_PORT] }), { registry });
    const text = await registry.metrics();
    for (const name of [
      'nestjs_zeromq_client_keys_in_flight',
      'nestjs_zeromq_client_waiting_behind_key',
      'nestjs_zeromq_client_expired_total',
      'nestjs_zeromq_server_expired_total',
    ]) {
      expect(text).toMatch(new RegExp(`^${name}\\{[^}]*\\} \\d+$`, 'm'));
    }
  });

  it('refuses a bad key or ttl with a clear error', () => {
    expect(() => new ZeroMqRecordBuilder({}).setKey('').build()).toThrow('ZeroMqRecord option key must be a string of 1 to 256 characters');
    expect(() => new ZeroMqRecordBuilder({}).setTtl(0).build()).toThrow(
      'ZeroMqRecord option ttl must be a whole number of milliseconds > 0',
    );
    expect(() => new ZeroMqClient({ endpoints: [LOOPBACK_ANY_PORT], key: 'id' as never })).toThrow(/key/);
  });
});
