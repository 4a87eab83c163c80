import type { PacketMetadata } from '@nestjs/microservices';
import { expiresAtOf, keyOf } from './message-key.js';

/** A frame as zeromq.js takes it: text (sent as UTF-8) or bytes. */
export type Frame = string | Uint8Array;

const ENCODING_JSON = 'j';
const ENCODING_BYTES = 'b';

/**
 * Reply status. To a request: a value of the response stream ('n'), its last value ('d': next and
 * done), completion without a value ('c'), or an error ('e', the payload is the error). To a
 * delivery: handled ('a', ack), failed and may be retried ('f'), refused for good ('x': unknown
 * pattern, undecodable), or not run because its connection had not said hello ('h'); for 'f' and
 * 'x' the payload is the reason (JSON text).
 */
export type ReplyStatus = 'n' | 'd' | 'c' | 'e' | DeliveryStatus;
/** How a worker answers an at-least-once delivery (see ReplyStatus). */
export type DeliveryStatus = 'a' | 'f' | 'x' | 'h';
export const REPLY_STATUSES: ReadonlySet<string> = new Set<ReplyStatus>(['n', 'd', 'c', 'e', 'a', 'f', 'x', 'h']);
export const DELIVERY_STATUSES: ReadonlySet<ReplyStatus> = new Set<DeliveryStatus>(['a', 'f', 'x', 'h']);

/** A pattern, info and payload ready for a socket. */
export interface EncodedRecord {
  readonly pattern: string;
  /** The payload encoding byte ('j' JSON text, 'b' raw bytes), then optional metadata JSON. */
  readonly info: string;
  readonly payload: Frame;
  /** Approximate size in bytes, for batch and queue limits. */
  readonly size: number;
}

export function isBinary(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array;
}

/** Encodes a payload as info (encoding byte and metadata) and body. Throws if it cannot be serialized. */
function encodePayload(payload: unknown, metadata?: PacketMetadata): { info: string; body: Frame } {
  const binary = isBinary(payload);
  const body = binary ? payload : (JSON.stringify(payload) ?? '');
  const encoding = binary ? ENCODING_BYTES : ENCODING_JSON;
  return { info: metadata !== undefined && hasKeys(metadata) ? encoding + JSON.stringify(metadata) : encoding, body };
}

function hasKeys(object: object): boolean {
  for (const key in object) {
    if (Object.hasOwn(object, key)) {
      return true;
    }
  }
  return false;
}

/** Encodes an event or request record. Throws if the payload cannot be serialized. */
export function encodeRecord(pattern: string, payload: unknown, metadata?: PacketMetadata): EncodedRecord {
  const { info, body } = encodePayload(payload, metadata);
  return { pattern, info, payload: body, size: pattern.length + info.length + body.length };
}

/**
 * Encodes a record whose payload travels alone, for plain ZeroMQ consumers: bytes as they are,
 * strings as text, anything else as JSON text. Only `payload` goes on the wire.
 */
export function encodeBareRecord(pattern: string, payload: unknown): EncodedRecord {
  const body = isBinary(payload) || typeof payload === 'string' ? payload : (JSON.stringify(payload) ?? '');
  return { pattern, info: '', payload: body, size: body.length };
}

export interface EncodedReply {
  readonly id: string;
  readonly status: ReplyStatus;
  readonly info: string;
  readonly payload: Frame;
  readonly size: number;
}

/** A response packet of Nest's `Server#send` as the status and payload of a reply to a request. */
export function replyOf(packet: { err?: unknown; response?: unknown; isDisposed?: boolean }): { status: ReplyStatus; payload: unknown } {
  if (packet.err !== undefined) {
    return { status: 'e', payload: packet.err };
  }
  if (packet.isDisposed) {
    return { status: packet.response === undefined ? 'c' : 'd', payload: packet.response };
  }
  return { status: 'n', payload: packet.response };
}

/** Encodes one reply; a completion without value has an empty JSON payload. */
export function encodeReply(id: string, status: ReplyStatus, payload: unknown): EncodedReply {
  const { info, body } = encodePayload(payload);
  return { id, status, info, payload: body, size: id.length + info.length + body.length + 1 };
}

/** The fields of each record kind, in wire order. */
export const recordFields = {
  event: (record: EncodedRecord): Frame[] => [record.pattern, record.info, record.payload],
  request: (id: string, record: EncodedRecord): Frame[] => [id, record.pattern, record.info, record.payload],
  delivery: (id: string, attempt: number, maxAttempts: number, record: EncodedRecord): Frame[] => [
    id,
    `${attempt}/${maxAttempts}`,
    record.pattern,
    record.info,
    record.payload,
  ],
  reply: (reply: EncodedReply): Frame[] => [reply.id, reply.status, reply.info, reply.payload],
  /** A delivery's fields (as `delivery` made them) with another attempt number: its redelivery. */
  redelivery: (fields: readonly Frame[], attempt: number, maxAttempts: number): Frame[] => {
    const again = [...fields];
    again[1] = `${attempt}/${maxAttempts}`;
    return again;
  },
};

/** The record a delivery's fields (as `recordFields.delivery` made them) carry: for its dead letter. */
export function deliveredRecord(fields: readonly Uint8Array[]): EncodedRecord {
  const [, , pattern, info, payload] = fields;
  const text = new TextDecoder();
  return { pattern: text.decode(pattern), info: text.decode(info), payload, size: pattern.length + info.length + payload.length };
}

/**
 * What a delivery's fields (as `recordFields.delivery` made them) say of the message: its id, the
 * attempt it was packed as, its pattern, key and expiry. Read when the durable outbox gives a
 * stored message back.
 */
export function storedDelivery(fields: readonly Buffer[]): {
  id: string;
  attempt: number;
  pattern: string;
  orderKey?: string;
  expiresAt?: number;
} {
  const [id, attempt, pattern, info] = fields;
  let metadata: PacketMetadata | undefined;
  if (info.length > 1) {
    try {
      metadata = JSON.parse(info.toString('utf8', 1)) as PacketMetadata;
    } catch {
      // Written by this library: not expected; the message then has no key and no expiry.
    }
  }
  return {
    id: id.toString('utf8'),
    attempt: Number.parseInt(attempt.toString('latin1'), 10),
    pattern: pattern.toString('utf8'),
    orderKey: keyOf(metadata),
    expiresAt: expiresAtOf(metadata),
  };
}

/**
 * The data a delivery's fields carry, for its dead letter: JSON decoded, else a copy of the bytes
 * (not a view that would keep the slab they were packed in).
 */
export function storedData(fields: readonly Buffer[]): unknown {
  const [, , , info, payload] = fields;
  if (info.toString('latin1').charAt(0) === ENCODING_JSON && payload.length > 0) {
    try {
      return JSON.parse(payload.toString('utf8')) as unknown;
    } catch {
      // Sent as stored; only the dead letter's copy of the data stays raw.
    }
  }
  return Buffer.from(payload);
}
