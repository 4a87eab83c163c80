import type { PacketMetadata, ProducerSerializer, ReadPacket } from '@nestjs/microservices';
import { encodeBareRecord, encodeRecord, isBinary, type EncodedRecord } from '../protocol/wire.js';

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

/**
 * Serializes `packet` with the client's serializer (sync or async) and frames it as a record of
 * `pattern` (`bare`: the payload alone); `fail` hears a serializer that threw or broke the contract.
 */
export function encodePacket(
  serializer: ProducerSerializer,
  pattern: string,
  packet: ReadPacket,
  bare: boolean,
  send: (record: EncodedRecord) => void,
  fail: (detail: string, cause: unknown) => void,
): void {
  const frame = (serialized: unknown) => {
    const result = serializedPacket(serialized, packet);
    let record: EncodedRecord;
    try {
      if (typeof result === 'string') {
        throw new Error(result);
      }
      record = bare ? encodeBareRecord(pattern, result.data) : encodeRecord(pattern, result.data, result.metadata);
    } catch (error) {
      fail(`cannot serialize the payload: ${(error as Error).message}`, error);
      return;
    }
    send(record);
  };
  let serialized: unknown;
  try {
    serialized = serializer.serialize(packet);
  } catch (error) {
    fail(`the serializer failed: ${(error as Error)?.message}`, error);
    return;
  }
  if (serialized instanceof Promise) {
    serialized.then(frame, (error: unknown) => fail(`the serializer failed: ${(error as Error)?.message}`, error));
  } else {
    frame(serialized);
  }
}

function describe(value: unknown): string {
  if (value === null) {
    return 'null';
  }
  return isBinary(value) ? 'bytes' : typeof value === 'object' ? 'an object without "data"' : `a ${typeof value}`;
}
