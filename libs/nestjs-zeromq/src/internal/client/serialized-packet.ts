import type { PacketMetadata, ReadPacket } from '@nestjs/microservices';
import { isBinary } from '../protocol/wire.js';

/**
 * The serializer contract of a ZeroMqClient: `serialize(packet)` returns the packet to put on
 * the wire, `{ data, metadata? }` (Nest's default `IdentitySerializer` returns the packet as it
 * is), synchronously or as a promise. `data` becomes the payload (JSON, or bytes for a Buffer /
 * Uint8Array) and `metadata` the record's metadata; the pattern is always the emitted one.
 */
export interface ZeroMqSerializedPacket {
  data: unknown;
  metadata?: PacketMetadata;
}

/** The serialized packet, or why a serializer's output breaks the contract. */
export function serializedPacket(value: unknown, original: ReadPacket): ZeroMqSerializedPacket | string {
  if (value === original) {
    return original;
  }
  if (typeof value !== 'object' || value === null || isBinary(value) || !('data' in value)) {
    return `the serializer returned ${describe(value)}; a ZeroMqClient serializer returns the packet to send, { data, metadata? }`;
  }
  const { data, metadata } = value as ZeroMqSerializedPacket;
  return { data, metadata: metadata ?? original.metadata };
}

function describe(value: unknown): string {
  if (value === null) {
    return 'null';
  }
  return isBinary(value) ? 'bytes' : typeof value === 'object' ? 'an object without "data"' : `a ${typeof value}`;
}
