import { Controller, Inject } from '@nestjs/common';
import { Ctx, EventPattern, MessagePattern, Payload } from '@nestjs/microservices';
import { firstValueFrom } from 'rxjs';
import type { ZeroMqContext } from '../zeromq.context.js';
import { ZeroMqClient } from '../zeromq.client.js';
import { ZeroMqServer } from '../zeromq.server.js';
import { LOOPBACK_ANY_PORT } from '../../test/endpoints.js';
import { boundAddress, RECEIVED, startWorker, type Received } from '../../test/nest-apps.js';
import { eventually, type Collector } from '../../test/waiting.js';
import { addDispatchHook, addProcessingHooks } from './zeromq.hooks.js';

/** An event and a request handler on one dealer-router socket. */
@Controller()
class EventAndRequestController {
  constructor(@Inject(RECEIVED) private readonly received: Collector<Received>) {}

  @EventPattern<string>('orders.created')
  onOrder(@Payload() data: unknown, @Ctx() context: ZeroMqContext): void {
    this.received.add({ pattern: context.getPattern(), data, context });
  }

  @MessagePattern('double')
  double(@Payload() n: number): number {
    return 2 * n;
  }
}

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

  it.each(['before', 'after'])(
    'skips hooks added with active() (%s listen()) while it returns false: handlers run without them, and with them once it is true',
    async (when) => {
      const calls: string[] = [];
      let active = false;
      const server = new ZeroMqServer({ endpoints: [LOOPBACK_ANY_PORT] });
      const addHooks = () =>
        addProcessingHooks(server, {
          active: () => active,
          start: (_context, next) => {
            calls.push('start');
            return next();
          },
          end: () => calls.push('end'),
        });
      if (when === 'before') {
        addHooks();
      }
      const { app, received } = await startWorker(server);
      if (when === 'after') {
        addHooks();
      }
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
    },
  );

  it("takes hooks and a 'handler-end' listener set after listen(): events and requests that arrive later run inside them and are timed", async () => {
    const calls: string[] = [];
    const ends: string[] = [];
    const server = new ZeroMqServer({ endpoints: [LOOPBACK_ANY_PORT], kind: 'dealer-router' });
    const { app, received } = await startWorker(server, [EventAndRequestController]);
    const client = new ZeroMqClient({ endpoints: [boundAddress(server)], kind: 'dealer-router' });
    try {
      // Before: no hook, nobody listening.
      await firstValueFrom(client.emit('orders.created', { id: 1 }), { defaultValue: undefined });
      await expect(firstValueFrom(client.send('double', 1))).resolves.toBe(2);
      await received.waitFor(1);
      server.setOnProcessingStartHook((_transport, context, done) => {
        calls.push(`nest start ${(context as ZeroMqContext).getPattern()}`);
        return done();
      });
      server.setOnProcessingEndHook((_transport, context) => calls.push(`nest end ${(context as ZeroMqContext).getPattern()}`));
      server.on('handler-end', (context, _durationMs, outcome) => ends.push(`${context.getPattern()} ${outcome}`));
      await firstValueFrom(client.emit('orders.created', { id: 2 }), { defaultValue: undefined });
      await received.waitFor(2);
      await expect(firstValueFrom(client.send('double', 2))).resolves.toBe(4);
      await eventually(
        () => calls.length + ends.length,
        (count) => count === 6,
      );
      expect(calls.sort()).toEqual(['nest end double', 'nest end orders.created', 'nest start double', 'nest start orders.created']);
      expect(ends.sort()).toEqual(['double success', 'orders.created success']);
    } finally {
      await client.close();
      await app.close();
    }
  });
  it.each([
    [
      'setOnProcessingEndHook',
      (server: ZeroMqServer, calls: string[]) =>
        server.setOnProcessingEndHook((_t, c) => calls.push(`end ${(c as ZeroMqContext).getPattern()}`)),
    ],
    [
      'addProcessingHooks({ end })',
      (server: ZeroMqServer, calls: string[]) => addProcessingHooks(server, { end: (c) => calls.push(`end ${c.getPattern()}`) }),
    ],
  ])('runs an end hook set alone (%s) after each event and request, as Nest would', async (_how, setEnd) => {
    const calls: string[] = [];
    const server = new ZeroMqServer({ endpoints: [LOOPBACK_ANY_PORT], kind: 'dealer-router' });
    setEnd(server, calls);
    const { app, received } = await startWorker(server, [EventAndRequestController]);
    const client = new ZeroMqClient({ endpoints: [boundAddress(server)], kind: 'dealer-router' });
    try {
      await firstValueFrom(client.emit('orders.created', { id: 1 }), { defaultValue: undefined });
      await received.waitFor(1);
      await expect(firstValueFrom(client.send('double', 3))).resolves.toBe(6);
      await eventually(
        () => calls.length,
        (count) => count === 2,
      );
      expect(calls.sort()).toEqual(['end double', 'end orders.created']);
    } finally {
      await client.close();
      await app.close();
    }
  });
});
