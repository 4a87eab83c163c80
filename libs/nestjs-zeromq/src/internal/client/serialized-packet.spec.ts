import type { ProducerSerializer, ReadPacket } from '@nestjs/microservices';
import type { EncodedRecord } from '../protocol/wire.js';
import { encodePacket } from './serialized-packet.js';

/** Runs encodePacket and resolves with what it sent, or with the failure it reported. */
function encode(serialize: ProducerSerializer['serialize'], packet: ReadPacket, bare = false) {
  return new Promise<{ record?: EncodedRecord; failure?: string }>((resolve) =>
    encodePacket(
      { serialize },
      'orders.created',
      packet,
      bare,
      (record) => resolve({ record }),
      (detail) => resolve({ failure: detail }),
    ),
  );
}

describe('encodePacket (the ZeroMqClient serializer contract)', () => {
  const packet: ReadPacket = { pattern: 'orders.created', data: { id: 7 }, metadata: { tenant: 'a' } };

  it('frames the packet as it is (Nest IdentitySerializer), with its metadata', async () => {
    const { record } = await encode((value) => value, packet);
    expect(record?.pattern).toBe('orders.created');
    expect(record?.payload.toString()).toBe('{"id":7}');
    expect(record?.info).toContain('"tenant":"a"');
  });

  it('takes { data, metadata } from a sync or async serializer; metadata falls back to the packet', async () => {
    const sync = await encode(() => ({ data: 'x' }), packet);
    expect(sync.record?.payload.toString()).toBe('"x"');
    expect(sync.record?.info).toContain('"tenant":"a"');
    const async = await encode(() => Promise.resolve({ data: [1], metadata: { tenant: 'b' } }), packet);
    expect(async.record?.payload.toString()).toBe('[1]');
    expect(async.record?.info).toContain('"tenant":"b"');
  });

  it('sends a bare record as the payload alone', async () => {
    const { record } = await encode((value) => value, { pattern: 'p', data: Buffer.from([1, 2]) }, true);
    expect(record?.info).toBe('');
    expect(Buffer.from(record?.payload as Uint8Array)).toEqual(Buffer.from([1, 2]));
  });

  it('reports a serializer that breaks the contract, throws or rejects, and sends nothing', async () => {
    expect((await encode(() => 'text', packet)).failure).toMatch(/returned a string; a ZeroMqClient serializer returns/);
    expect((await encode(() => Buffer.from('x'), packet)).failure).toMatch(/returned bytes/);
    expect((await encode(() => ({ payload: 1 }), packet)).failure).toMatch(/an object without "data"/);
    expect(
      (
        await encode(() => {
          throw new Error('boom');
        }, packet)
      ).failure,
    ).toBe('the serializer failed: boom');
    expect((await encode(() => Promise.reject(new Error('late boom')), packet)).failure).toBe('the serializer failed: late boom');
  });

  it('reports a payload JSON cannot encode', async () => {
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    expect((await encode((value) => value, { pattern: 'p', data: circular })).failure).toMatch(/^cannot serialize the payload: /);
  });
});
