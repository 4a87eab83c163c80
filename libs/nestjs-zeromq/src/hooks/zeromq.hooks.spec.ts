import { firstValueFrom } from 'rxjs';
import { ZeroMqClient } from '../zeromq.client.js';
import { ZeroMqServer } from '../zeromq.server.js';
import { LOOPBACK_ANY_PORT } from '../../test/endpoints.js';
import { boundAddress, startWorker } from '../../test/nest-apps.js';
import { eventually } from '../../test/waiting.js';
import { addDispatchHook, addProcessingHooks } from './zeromq.hooks.js';

describe('addProcessingHooks / addDispatchHook: hooks that add up instead of replacing each other', () => {
  it('runs the hooks set before and those added after, nested, on both sides of the wire', async () => {
    const calls: string[] = [];
    const server = new ZeroMqServer({ endpoints: [LOOPBACK_ANY_PORT] });
    server.setOnProcessingStartHook((_transport, _context, done) => {
      calls.push('nest start');
      return done();
    });
    server.setOnProcessingEndHook(() => calls.push('nest end'));
    addProcessingHooks(server, {
      start: (context, next) => {
        const metadata = context.getMetadata();
        calls.push(`added start ${context.getPattern()} ${metadata?.first}+${metadata?.second}`);
        return next();
      },
      end: () => calls.push('added end'),
    });
    const { app, received } = await startWorker(server);
    const client = new ZeroMqClient({ endpoints: [boundAddress(server)] });
    client.setOnDispatchHook((packet) => (packet.metadata = { ...packet.metadata, first: '1' }));
    addDispatchHook(client, (packet) => (packet.metadata = { ...packet.metadata, second: '2' }));
    try {
      await firstValueFrom(client.emit('orders.created', { id: 1 }), { defaultValue: undefined });
      await received.waitFor(1);
      // The handler recorded the message; the end hooks run once it has returned.
      await eventually(
        () => calls.length,
        (count) => count === 4,
      );
      expect(calls).toEqual(['nest start', 'added start orders.created 1+2', 'added end', 'nest end']);
    } finally {
      await client.close();
      await app.close();
    }
  });

  it('skips hooks added with active() while it returns false: handlers run without them, and with them once it is true', async () => {
    const calls: string[] = [];
    let active = false;
    const server = new ZeroMqServer({ endpoints: [LOOPBACK_ANY_PORT] });
    addProcessingHooks(server, {
      active: () => active,
      start: (_context, next) => {
        calls.push('start');
        return next();
      },
      end: () => calls.push('end'),
    });
    const { app, received } = await startWorker(server);
    const client = new ZeroMqClient({ endpoints: [boundAddress(server)] });
    try {
      await firstValueFrom(client.emit('orders.created', { id: 1 }), { defaultValue: undefined });
      await received.waitFor(1);
      active = true;
      await firstValueFrom(client.emit('orders.created', { id: 2 }), { defaultValue: undefined });
      await received.waitFor(2);
      await eventually(
        () => calls.length,
        (count) => count === 2,
      );
      expect(calls).toEqual(['start', 'end']);
      expect(received.items.map((item) => (item.data as { id: number }).id)).toEqual([1, 2]);
    } finally {
      await client.close();
      await app.close();
    }
  });
});
