import type { ReadPacket } from '@nestjs/microservices';
import { ZeroMqRecord, type ZeroMqRecordOptions } from './zeromq.record-builder.js';

const NO_OPTIONS: ZeroMqRecordOptions = Object.freeze({});

/**
 * A packet whose data is a ZeroMqRecord, as the serializer should see it: the record's data as
 * the payload, its headers merged into the metadata (over a dispatch hook's keys of the same name); and the
 * record's options. Any other packet comes back as it is.
 */
export function unwrapRecord(packet: ReadPacket): { packet: ReadPacket; options: ZeroMqRecordOptions } {
  const record: unknown = packet.data;
  if (!(record instanceof ZeroMqRecord)) {
    return { packet, options: NO_OPTIONS };
  }
  return {
    packet: { ...packet, data: record.data, metadata: { ...packet.metadata, ...record.headers } },
    options: record.options,
  };
}
