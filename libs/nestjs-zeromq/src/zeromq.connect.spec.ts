import { lastValueFrom } from 'rxjs';
import * as zmq from 'zeromq';
import { ZeroMqClient } from './zeromq.client.js';
import { ZeroMqStatus } from './zeromq.events.js';
import { ipcDir, LOOPBACK_ANY_PORT } from '../../../test/helpers/endpoints.js';

/** The status a client shows now (status replays its latest value). */
function statusOf(client: ZeroMqClient): ZeroMqStatus | undefined {
  let status: ZeroMqStatus | undefined;
  client.status.subscribe((value) => (status = value)).unsubscribe();
  return status;
}

describe('ZeroMqClient connect()', () => {
  const ipc = ipcDir();
  const opened: Array<{ close(): unknown }> = [];

  afterEach(async () => {
    for (const owner of opened.splice(0).reverse()) {
      await owner.close();
    }
  });
  afterAll(() => ipc.cleanup());

  async function plainPull(): Promise<{ pull: zmq.Pull; address: string }> {
    const pull = new zmq.Pull();
    opened.push(pull);
    await pull.bind(LOOPBACK_ANY_PORT);
    return { pull, address: pull.lastEndpoint! };
  }

  it('resolves with status connected and the connection counted when a tcp peer listens', async () => {
    const { address } = await plainPull();
    const client = new ZeroMqClient({ endpoints: [address] });
    opened.push(client);
    await client.connect();
    expect(statusOf(client)).toBe(ZeroMqStatus.CONNECTED);
    expect(client.getMetrics().connections).toEqual({ default: 1 });
  });

  it('counts the connection right after a burst of emits that never yielded to I/O', async () => {
    const { pull, address } = await plainPull();
    const client = new ZeroMqClient({ endpoints: [address] });
    opened.push(client);
    await client.connect();
    for (let i = 0; i < 200; i++) {
      await lastValueFrom(client.emit('burst', i), { defaultValue: undefined });
    }
    expect(client.getMetrics()).toMatchObject({ sent: 200, connections: { default: 1 } });
    await pull.receive();
  });

  it('waits for a peer on every connecting socket (one DEALER per endpoint)', async () => {
    const peers = [new zmq.Router(), new zmq.Router()];
    opened.push(...peers);
    for (const peer of peers) {
      await peer.bind(LOOPBACK_ANY_PORT);
    }
    const client = new ZeroMqClient({ kind: 'dealer-router', endpoints: peers.map((peer) => peer.lastEndpoint!) });
    opened.push(client);
    await client.connect();
    expect(client.getMetrics().connections).toEqual({ 'default#1': 1, 'default#2': 1 });
  });

  it('resolves after connectTimeout with status disconnected when nobody listens', async () => {
    const client = new ZeroMqClient({ endpoints: [ipc.address('nobody')], connectTimeout: 100 });
    opened.push(client);
    await client.connect();
    expect(statusOf(client)).toBe(ZeroMqStatus.DISCONNECTED);
    expect(client.getMetrics().connections).toEqual({ default: 0 });
  });

  it('does not wait for peers on a socket that binds', async () => {
    const client = new ZeroMqClient({ endpoints: [{ address: LOOPBACK_ANY_PORT, bind: true }], connectTimeout: 60_000 });
    opened.push(client);
    await client.connect();
    expect(statusOf(client)).toBe(ZeroMqStatus.DISCONNECTED);
  });

  it('takes a burst of 30,000 un-awaited emits with the default bounds, as Nest TCP would', async () => {
    const { pull, address } = await plainPull();
    const client = new ZeroMqClient({ endpoints: [address] });
    opened.push(client);
    // Fired in one go, nothing awaited: more than the former default maxQueueSize of 10,000.
    const burst = Array.from({ length: 30_000 }, (_, i) => lastValueFrom(client.emit('burst', i), { defaultValue: undefined }));
    await Promise.all(burst);
    expect(client.getMetrics()).toMatchObject({ sent: 30_000, failed: 0 });
    await pull.receive();
  });

  it('rejects an invalid connectTimeout', () => {
    expect(() => new ZeroMqClient({ endpoints: [LOOPBACK_ANY_PORT], connectTimeout: -1 })).toThrow(/connectTimeout/);
  });
});
