import type { PacketMetadata } from '@nestjs/microservices';
import { describeBadHeader, FIELDS_PER_RECORD, kindOf } from './headers.js';
import { unpackFrames } from './packing.js';
import { REPLY_STATUSES, type ReplyStatus } from './records.js';
import { parsePeerJson } from './safe-json.js';

const ENCODING_JSON_CODE = 'j'.charCodeAt(0);
const ENCODING_BYTES_CODE = 'b'.charCodeAt(0);
const MAX_ID_LENGTH = 64;
const MAX_WINDOW = 1_000_000;

export interface DecodedRecord {
  pattern: string;
  data: unknown;
  metadata: PacketMetadata | undefined;
}

export interface DecodedRequest extends DecodedRecord {
  id: string;
}

export interface DecodedReply {
  id: string;
  status: ReplyStatus;
  data: unknown;
}

export interface DecodedDelivery extends DecodedRequest {
  attempt: number;
  maxAttempts: number;
}

/** A record rejected on its own; `id` is set when a request's id could be read (to answer it). */
export interface RejectedRecord {
  reason: string;
  id?: string;
}

export interface DecodeLimits {
  maxPatternLength: number;
  maxRecordsPerMessage: number;
}

/** What one received ZeroMQ message turned out to be. */
export type DecodedMessage =
  | { kind: 'events'; records: DecodedRecord[]; rejected: RejectedRecord[] }
  | { kind: 'requests'; records: DecodedRequest[]; rejected: RejectedRecord[] }
  | { kind: 'replies'; records: DecodedReply[]; rejected: RejectedRecord[] }
  | { kind: 'deliveries'; records: DecodedDelivery[]; rejected: RejectedRecord[] }
  | { kind: 'hello'; producerId: string }
  | { kind: 'credit'; window: number }
  | { kind: 'plain'; frame: Buffer }
  | { kind: 'malformed'; reason: string };

type RecordDecoder = (frames: Buffer[], at: number, limits: DecodeLimits) => object;

const DECODERS: Record<'events' | 'requests' | 'replies' | 'deliveries', RecordDecoder> = {
  events: (f, i, limits) => decodeRecord(f[i], f[i + 1], f[i + 2], limits),
  requests: (f, i, limits) => decodeRequest(f[i], f[i + 1], f[i + 2], f[i + 3], limits),
  replies: (f, i) => decodeReply(f[i], f[i + 1], f[i + 2], f[i + 3]),
  deliveries: (f, i, limits) => decodeDelivery(f[i], f[i + 1], f[i + 2], f[i + 3], f[i + 4], limits),
};

/**
 * Splits a received message (from `offset`, past any routing frames) into records. Never throws:
 * a message whose shape is wrong is `malformed`; a record that is wrong on its own is listed in
 * `rejected` and the others are kept.
 */
export function decodeMessage(received: Buffer[], limits: DecodeLimits, offset = 0): DecodedMessage {
  const header = received[offset];
  const found = kindOf(header);
  if (found === undefined) {
    const count = received.length - offset;
    return count === 1 ? { kind: 'plain', frame: header } : { kind: 'malformed', reason: describeBadHeader(header, count) };
  }
  const { kind } = found;
  const perRecord = FIELDS_PER_RECORD[kind];
  let frames = received;
  let start = offset + 1;
  if (found.packed) {
    if (received.length - offset !== 2) {
      return { kind: 'malformed', reason: `packed message of ${received.length - offset} frames (2 expected)` };
    }
    const unpacked = unpackFrames(received[offset + 1], limits.maxRecordsPerMessage * perRecord);
    if (typeof unpacked === 'string') {
      return { kind: 'malformed', reason: unpacked };
    }
    frames = unpacked;
    start = 0;
  }
  if (kind === 'hello' || kind === 'credit') {
    return decodeControl(kind, frames.slice(start));
  }
  const recordFrames = frames.length - start;
  if (recordFrames === 0 || recordFrames % perRecord !== 0) {
    return { kind: 'malformed', reason: `${recordFrames + 1} frames: expected the header and a multiple of ${perRecord} frames` };
  }
  if (recordFrames / perRecord > limits.maxRecordsPerMessage) {
    return {
      kind: 'malformed',
      reason: `${recordFrames / perRecord} records in one message, above maxRecordsPerMessage (${limits.maxRecordsPerMessage})`,
    };
  }
  const decode = DECODERS[kind];
  const records: object[] = [];
  const rejected: RejectedRecord[] = [];
  for (let i = start; i < frames.length; i += perRecord) {
    const result = decode(frames, i, limits);
    if (isRejected(result)) {
      rejected.push(result);
    } else {
      records.push(result);
    }
  }
  return { kind, records, rejected } as DecodedMessage;
}

function decodeControl(kind: 'hello' | 'credit', body: Buffer[]): DecodedMessage {
  if (body.length !== 1) {
    return { kind: 'malformed', reason: `${kind} message with ${body.length} frames after the header (1 expected)` };
  }
  const text = body[0].toString('latin1');
  if (kind === 'hello') {
    return text.length > 0 && text.length <= MAX_ID_LENGTH
      ? { kind, producerId: text }
      : { kind: 'malformed', reason: `hello with a producer id of ${text.length} bytes` };
  }
  const window = /^\d{1,7}$/.test(text) ? Number(text) : NaN;
  return window <= MAX_WINDOW ? { kind, window } : { kind: 'malformed', reason: `credit "${text.slice(0, 20)}" is not a number from 0 to ${MAX_WINDOW}` };
}

function isRejected(value: object): value is RejectedRecord {
  return typeof (value as RejectedRecord).reason === 'string';
}

function decodeDelivery(idFrame: Buffer, attemptFrame: Buffer, patternFrame: Buffer, info: Buffer, payload: Buffer, limits: DecodeLimits) {
  const request = decodeRequest(idFrame, patternFrame, info, payload, limits);
  const match = /^(\d{1,4})\/(\d{1,4})$/.exec(attemptFrame.toString('latin1'));
  if (match === null) {
    return { reason: 'delivery attempt is not "n/max"', id: (request as { id?: string }).id };
  }
  return isRejected(request) ? request : { ...request, attempt: Number(match[1]), maxAttempts: Number(match[2]) };
}

function decodeRequest(idFrame: Buffer, patternFrame: Buffer, info: Buffer, payload: Buffer, limits: DecodeLimits): DecodedRequest | RejectedRecord {
  if (idFrame.length === 0 || idFrame.length > MAX_ID_LENGTH) {
    return { reason: `request id of ${idFrame.length} bytes (1 to ${MAX_ID_LENGTH} allowed)` };
  }
  const id = idFrame.toString('latin1');
  const record = decodeRecord(patternFrame, info, payload, limits);
  return isRejected(record) ? { reason: record.reason, id } : { id, ...record };
}

function decodeReply(idFrame: Buffer, statusFrame: Buffer, info: Buffer, payload: Buffer): DecodedReply | RejectedRecord {
  const id = idFrame.toString('latin1');
  const status = statusFrame.toString('latin1');
  if (!REPLY_STATUSES.has(status)) {
    return { reason: `reply ${id}: unknown status "${status}"`, id };
  }
  const decoded = decodePayload(info, payload);
  return typeof decoded === 'string' ? { reason: `reply ${id}: ${decoded}`, id } : { id, status: status as ReplyStatus, data: decoded.data };
}

function decodeRecord(patternFrame: Buffer, info: Buffer, payload: Buffer, limits: DecodeLimits): DecodedRecord | RejectedRecord {
  if (patternFrame.length === 0) {
    return { reason: 'empty pattern' };
  }
  if (patternFrame.length > limits.maxPatternLength) {
    return { reason: `pattern of ${patternFrame.length} bytes, above maxPatternLength (${limits.maxPatternLength})` };
  }
  const pattern = patternFrame.toString('utf8');
  const decoded = decodePayload(info, payload);
  return typeof decoded === 'string' ? { reason: `pattern "${pattern}": ${decoded}` } : { pattern, data: decoded.data, metadata: decoded.metadata };
}

/** Decodes info and payload frames; returns why not as a string. */
function decodePayload(info: Buffer, payload: Buffer): { data: unknown; metadata: PacketMetadata | undefined } | string {
  if (info.length === 0) {
    return 'empty info frame';
  }
  let metadata: PacketMetadata | undefined;
  if (info.length > 1) {
    metadata = parseMetadata(info.toString('utf8', 1));
    if (metadata === undefined) {
      return 'metadata is not a JSON object of strings';
    }
  }
  const encoding = info[0];
  if (encoding === ENCODING_BYTES_CODE) {
    return { data: payload, metadata };
  }
  if (encoding !== ENCODING_JSON_CODE) {
    return `unknown payload encoding "${String.fromCharCode(encoding)}"`;
  }
  if (payload.length === 0) {
    return { data: undefined, metadata };
  }
  const parsed = parsePeerJson(payload.toString('utf8'));
  return 'error' in parsed ? `payload ${parsed.error}` : { data: parsed.value, metadata };
}

/** Metadata: a JSON object of strings, read with the same hardened parser as payloads; a `__proto__` key is dropped. */
function parseMetadata(text: string): PacketMetadata | undefined {
  const parsed = parsePeerJson(text, 'remove');
  if ('error' in parsed) {
    return undefined;
  }
  const { value } = parsed;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return undefined;
  }
  for (const key in value) {
    if (typeof (value as Record<string, unknown>)[key] !== 'string') {
      return undefined;
    }
  }
  return value as PacketMetadata;
}

