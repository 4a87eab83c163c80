import type { PacketMetadata } from '@nestjs/microservices';
import { describeBadHeader, FIELDS_PER_RECORD, kindOf } from './headers.js';
import { FrameFields, PackedFields, type Fields } from './fields.js';
import { packedBounds } from './packing.js';
import { REPLY_STATUSES, type ReplyStatus } from './records.js';
import { parsePeerJson } from './safe-json.js';

const ENCODING_JSON_CODE = 'j'.charCodeAt(0);
const ENCODING_BYTES_CODE = 'b'.charCodeAt(0);
const MAX_ID_LENGTH = 64;
const MAX_WINDOW = 1_000_000;
const DIGIT_ZERO = '0'.charCodeAt(0);

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

type RecordDecoder = (fields: Fields, at: number, limits: DecodeLimits) => object;

const DECODERS: Record<'events' | 'requests' | 'replies' | 'deliveries', RecordDecoder> = {
  events: (f, i, limits) => decodeRecord(f, i, limits),
  requests: (f, i, limits) => decodeRequest(f, i, limits),
  replies: (f, i) => decodeReply(f, i),
  deliveries: (f, i, limits) => decodeDelivery(f, i, limits),
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
  let fields: Fields;
  if (found.packed) {
    if (received.length - offset !== 2) {
      return { kind: 'malformed', reason: `packed message of ${received.length - offset} frames (2 expected)` };
    }
    const body = received[offset + 1];
    const bounds = packedBounds(body, limits.maxRecordsPerMessage * perRecord);
    if (typeof bounds === 'string') {
      return { kind: 'malformed', reason: bounds };
    }
    fields = new PackedFields(body, bounds);
  } else {
    fields = new FrameFields(received, offset + 1);
  }
  if (kind === 'hello' || kind === 'credit') {
    return decodeControl(kind, fields);
  }
  const recordFields = fields.count;
  if (recordFields === 0 || recordFields % perRecord !== 0) {
    return { kind: 'malformed', reason: `${recordFields + 1} frames: expected the header and a multiple of ${perRecord} frames` };
  }
  if (recordFields / perRecord > limits.maxRecordsPerMessage) {
    return {
      kind: 'malformed',
      reason: `${recordFields / perRecord} records in one message, above maxRecordsPerMessage (${limits.maxRecordsPerMessage})`,
    };
  }
  const decode = DECODERS[kind];
  const records: object[] = [];
  const rejected: RejectedRecord[] = [];
  for (let i = 0; i < recordFields; i += perRecord) {
    const result = decode(fields, i, limits);
    if (isRejected(result)) {
      rejected.push(result);
    } else {
      records.push(result);
    }
  }
  return { kind, records, rejected } as DecodedMessage;
}

function decodeControl(kind: 'hello' | 'credit', fields: Fields): DecodedMessage {
  if (fields.count !== 1) {
    return { kind: 'malformed', reason: `${kind} message with ${fields.count} frames after the header (1 expected)` };
  }
  const text = fields.text(0, 'latin1');
  if (kind === 'hello') {
    return text.length > 0 && text.length <= MAX_ID_LENGTH
      ? { kind, producerId: text }
      : { kind: 'malformed', reason: `hello with a producer id of ${text.length} bytes` };
  }
  const window = /^\d{1,7}$/.test(text) ? Number(text) : NaN;
  return window <= MAX_WINDOW
    ? { kind, window }
    : { kind: 'malformed', reason: `credit "${text.slice(0, 20)}" is not a number from 0 to ${MAX_WINDOW}` };
}

function isRejected(value: object): value is RejectedRecord {
  return typeof (value as RejectedRecord).reason === 'string';
}

/** A delivery: id, attempt ("n/max"), then a request's pattern, info and payload. */
function decodeDelivery(fields: Fields, at: number, limits: DecodeLimits): DecodedDelivery | RejectedRecord {
  const id = readId(fields, at);
  if (typeof id !== 'string') {
    return id;
  }
  const attemptText = fields.text(at + 1, 'latin1');
  const slash = attemptText.indexOf('/');
  const attempt = slash < 0 ? -1 : decimal(attemptText, 0, slash);
  const maxAttempts = slash < 0 ? -1 : decimal(attemptText, slash + 1, attemptText.length);
  if (attempt < 0 || maxAttempts < 0) {
    return { reason: 'delivery attempt is not "n/max"', id };
  }
  const record = decodeRecord(fields, at + 2, limits);
  // Field by field, not a spread: this runs per delivery.
  return isRejected(record)
    ? { reason: record.reason, id }
    : { id, pattern: record.pattern, data: record.data, metadata: record.metadata, attempt, maxAttempts };
}

/**
 * The value of `text` from `start` to `end` as 1 to 4 decimal digits, else -1. Read by hand: a
 * regular expression with captures costs a match array and two strings per delivery.
 */
function decimal(text: string, start: number, end: number): number {
  if (end - start < 1 || end - start > 4) {
    return -1;
  }
  let value = 0;
  for (let i = start; i < end; i++) {
    const digit = text.charCodeAt(i) - DIGIT_ZERO;
    if (digit < 0 || digit > 9) {
      return -1;
    }
    value = value * 10 + digit;
  }
  return value;
}

function readId(fields: Fields, at: number): string | RejectedRecord {
  const length = fields.length(at);
  return length === 0 || length > MAX_ID_LENGTH
    ? { reason: `request id of ${length} bytes (1 to ${MAX_ID_LENGTH} allowed)` }
    : fields.text(at, 'latin1');
}

function decodeRequest(fields: Fields, at: number, limits: DecodeLimits): DecodedRequest | RejectedRecord {
  const id = readId(fields, at);
  if (typeof id !== 'string') {
    return id;
  }
  const record = decodeRecord(fields, at + 1, limits);
  return isRejected(record) ? { reason: record.reason, id } : { id, pattern: record.pattern, data: record.data, metadata: record.metadata };
}

function decodeReply(fields: Fields, at: number): DecodedReply | RejectedRecord {
  const id = fields.text(at, 'latin1');
  const status = fields.text(at + 1, 'latin1');
  if (!REPLY_STATUSES.has(status)) {
    return { reason: `reply ${id}: unknown status "${status}"`, id };
  }
  const decoded = decodePayload(fields, at + 2);
  return typeof decoded === 'string'
    ? { reason: `reply ${id}: ${decoded}`, id }
    : { id, status: status as ReplyStatus, data: decoded.data };
}

/** Pattern, info and payload at `at`; returns the record, or why it was rejected. */
function decodeRecord(fields: Fields, at: number, limits: DecodeLimits): DecodedRecord | RejectedRecord {
  const patternLength = fields.length(at);
  if (patternLength === 0) {
    return { reason: 'empty pattern' };
  }
  if (patternLength > limits.maxPatternLength) {
    return { reason: `pattern of ${patternLength} bytes, above maxPatternLength (${limits.maxPatternLength})` };
  }
  const pattern = fields.text(at, 'utf8');
  const decoded = decodePayload(fields, at + 1);
  return typeof decoded === 'string'
    ? { reason: `pattern "${pattern}": ${decoded}` }
    : { pattern, data: decoded.data, metadata: decoded.metadata };
}

/** Decodes the info field at `at` and the payload after it; returns why not as a string. */
function decodePayload(fields: Fields, at: number): { data: unknown; metadata: PacketMetadata | undefined } | string {
  const infoLength = fields.length(at);
  if (infoLength === 0) {
    return 'empty info frame';
  }
  let metadata: PacketMetadata | undefined;
  if (infoLength > 1) {
    metadata = parseMetadata(fields.text(at, 'utf8', 1));
    if (metadata === undefined) {
      return 'metadata is not a JSON object of strings';
    }
  }
  const encoding = fields.firstByte(at);
  if (encoding === ENCODING_BYTES_CODE) {
    return { data: fields.bytes(at + 1), metadata };
  }
  if (encoding !== ENCODING_JSON_CODE) {
    return `unknown payload encoding "${String.fromCharCode(encoding)}"`;
  }
  if (fields.length(at + 1) === 0) {
    return { data: undefined, metadata };
  }
  const parsed = parsePeerJson(fields.text(at + 1, 'utf8'));
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
