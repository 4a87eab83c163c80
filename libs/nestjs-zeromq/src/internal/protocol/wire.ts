import type { PacketMetadata } from '@nestjs/microservices';
import { parsePeerJson } from './safe-json.js';

/**
 * The wire format (docs/protocol.md). Every message is one ZeroMQ multipart message whose frame 0
 * is a header: magic "NZ", protocol version "1", and the message kind:
 *
 *   events      [ "NZ1E", (pattern, info, payload)... ]
 *   requests    [ "NZ1Q", (id, pattern, info, payload)... ]
 *   replies     [ "NZ1R", (id, status, info, payload)... ]      (also acks of deliveries)
 *   deliveries  [ "NZ1D", (id, attempt, pattern, info, payload)... ]   (at-least-once events)
 *   hello       [ "NZ1H", producer id ]                         (producer → worker, on connect)
 *   credit      [ "NZ1C", window ]                              (worker → producer)
 *
 * `info` starts with the payload encoding byte ('j' JSON text, 'b' raw bytes), optionally followed
 * by a JSON object of string metadata. The pattern is its own frame so that routing never parses a
 * payload. Several records share a message when the sender has several queued (batching); such a
 * message may travel packed (see `packFrames`).
 */
export const PROTOCOL_VERSION = '1';
export const EVENTS_HEADER = `NZ${PROTOCOL_VERSION}E`;
export const REQUESTS_HEADER = `NZ${PROTOCOL_VERSION}Q`;
export const REPLIES_HEADER = `NZ${PROTOCOL_VERSION}R`;
export const DELIVERIES_HEADER = `NZ${PROTOCOL_VERSION}D`;
export const HELLO_HEADER = `NZ${PROTOCOL_VERSION}H`;
export const CREDIT_HEADER = `NZ${PROTOCOL_VERSION}C`;

const HEADER_BYTES = {
  events: Buffer.from(EVENTS_HEADER, 'latin1'),
  requests: Buffer.from(REQUESTS_HEADER, 'latin1'),
  replies: Buffer.from(REPLIES_HEADER, 'latin1'),
  deliveries: Buffer.from(DELIVERIES_HEADER, 'latin1'),
  hello: Buffer.from(HELLO_HEADER, 'latin1'),
  credit: Buffer.from(CREDIT_HEADER, 'latin1'),
};
const FRAMES_PER_RECORD = { events: 3, requests: 4, replies: 4, deliveries: 5, hello: 1, credit: 1 };

const ENCODING_JSON = 'j';
const ENCODING_BYTES = 'b';
const ENCODING_JSON_CODE = ENCODING_JSON.charCodeAt(0);
const ENCODING_BYTES_CODE = ENCODING_BYTES.charCodeAt(0);

/**
 * Reply status. To a request: a value of the response stream ('n'), its last value ('d': next and
 * done), completion without a value ('c'), or an error ('e', the payload is the error). To a
 * delivery: handled ('a', ack), failed and may be retried ('f'), or refused for good ('x': unknown
 * pattern, undecodable); for 'f' and 'x' the payload is the reason (JSON text).
 */
export type ReplyStatus = 'n' | 'd' | 'c' | 'e' | 'a' | 'f' | 'x';
const REPLY_STATUSES = new Set<string>(['n', 'd', 'c', 'e', 'a', 'f', 'x']);
export const DELIVERY_STATUSES: ReadonlySet<ReplyStatus> = new Set<ReplyStatus>(['a', 'f', 'x']);

type Frame = string | Uint8Array;

/** A pattern, info and payload ready for a socket; frames are strings or bytes, as zeromq.js accepts both. */
export interface EncodedRecord {
  readonly pattern: string;
  readonly info: string;
  readonly payload: Frame;
  /** Approximate size in bytes, for batch limits. */
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
  const hasMetadata = metadata !== undefined && Object.keys(metadata).length > 0;
  return { info: hasMetadata ? encoding + JSON.stringify(metadata) : encoding, body };
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

/** Builds one multipart events message out of one or more records. */
export function encodeEventsMessage(records: readonly EncodedRecord[]): Frame[] {
  const frames: Frame[] = [EVENTS_HEADER];
  for (const record of records) {
    frames.push(record.pattern, record.info, record.payload);
  }
  return frames;
}

/** Builds one multipart requests message; each request carries the id its replies will name. */
export function encodeRequestsMessage(requests: ReadonlyArray<{ id: string; record: EncodedRecord }>): Frame[] {
  const frames: Frame[] = [REQUESTS_HEADER];
  for (const { id, record } of requests) {
    frames.push(id, record.pattern, record.info, record.payload);
  }
  return frames;
}

/** Builds one multipart deliveries message (at-least-once events); attempt is "n/max". */
export function encodeDeliveriesMessage(
  deliveries: ReadonlyArray<{ id: string; attempt: number; maxAttempts: number; record: EncodedRecord }>,
): Frame[] {
  const frames: Frame[] = [DELIVERIES_HEADER];
  for (const { id, attempt, maxAttempts, record } of deliveries) {
    frames.push(id, `${attempt}/${maxAttempts}`, record.pattern, record.info, record.payload);
  }
  return frames;
}

export function encodeHello(producerId: string): Frame[] {
  return [HELLO_HEADER, producerId];
}

export function encodeCredit(route: readonly Frame[], window: number): Frame[] {
  return [...route, CREDIT_HEADER, String(window)];
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

/** Builds one multipart replies message (packed when there are several), after the frames that route it to the peer. */
export function encodeRepliesMessage(route: readonly Frame[], replies: readonly EncodedReply[]): Frame[] {
  const frames: Frame[] = [REPLIES_HEADER];
  for (const reply of replies) {
    frames.push(reply.id, reply.status, reply.info, reply.payload);
  }
  return [...route, ...(replies.length > 1 ? packFrames(frames) : frames)];
}

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

type Kind = keyof typeof HEADER_BYTES;

/** Kinds whose messages may travel packed, and the header letter that says so (the kind's, lower case). */
const PACKABLE: ReadonlyArray<Kind> = ['events', 'requests', 'replies', 'deliveries'];
const PACKED_HEADER_BYTES = new Map(
  PACKABLE.map((kind) => [kind, Buffer.from(HEADER_BYTES[kind].toString('latin1').slice(0, 3) + HEADER_BYTES[kind].toString('latin1')[3].toLowerCase(), 'latin1')]),
);
const FIELD_LENGTH_BYTES = 4;

function kindOf(header: Buffer | undefined): { kind: Kind; packed: boolean } | undefined {
  if (header === undefined || header.length !== 4) {
    return undefined;
  }
  for (const kind of Object.keys(HEADER_BYTES) as Kind[]) {
    if (header.equals(HEADER_BYTES[kind])) {
      return { kind, packed: false };
    }
    if (PACKED_HEADER_BYTES.get(kind)?.equals(header)) {
      return { kind, packed: true };
    }
  }
  return undefined;
}

/**
 * Packs a message of several records into two frames: its header with the kind letter in lower
 * case, and one body holding every other frame as a 4-byte big-endian length and the bytes.
 * One ZeroMQ part instead of hundreds: zeromq.js makes a native call and a Buffer per part, which
 * dominated the cost of small messages. `unpackFrames` reverses it.
 */
export function packFrames(frames: readonly Frame[]): Frame[] {
  let size = 0;
  for (let i = 1; i < frames.length; i++) {
    const frame = frames[i];
    size += FIELD_LENGTH_BYTES + (typeof frame === 'string' ? Buffer.byteLength(frame) : frame.byteLength);
  }
  const body = Buffer.allocUnsafe(size);
  let offset = 0;
  for (let i = 1; i < frames.length; i++) {
    const frame = frames[i];
    let length: number;
    if (typeof frame === 'string') {
      length = body.write(frame, offset + FIELD_LENGTH_BYTES, 'utf8');
    } else {
      length = frame.byteLength;
      body.set(frame, offset + FIELD_LENGTH_BYTES);
    }
    body.writeUInt32BE(length, offset);
    offset += FIELD_LENGTH_BYTES + length;
  }
  const header = frames[0] as string;
  return [header.slice(0, 3) + header[3].toLowerCase(), body];
}

/** The frames a packed body holds (views into it), or why it is not a valid body. */
function unpackFrames(body: Buffer, maxFrames: number): Buffer[] | string {
  const frames: Buffer[] = [];
  let offset = 0;
  while (offset < body.length) {
    if (frames.length >= maxFrames) {
      return `packed body with more than ${maxFrames} frames`;
    }
    if (offset + FIELD_LENGTH_BYTES > body.length) {
      return 'packed body ends inside a length';
    }
    const length = body.readUInt32BE(offset);
    const start = offset + FIELD_LENGTH_BYTES;
    if (length > body.length - start) {
      return `packed body: a frame of ${length} bytes runs past its end`;
    }
    frames.push(body.subarray(start, start + length));
    offset = start + length;
  }
  return frames;
}

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
    if (count === 1) {
      return { kind: 'plain', frame: header };
    }
    return { kind: 'malformed', reason: describeBadHeader(header, count) };
  }
  const { kind } = found;
  const perRecord = FRAMES_PER_RECORD[kind];
  let frames = received;
  if (found.packed) {
    if (received.length - offset !== 2) {
      return { kind: 'malformed', reason: `packed message of ${received.length - offset} frames (2 expected)` };
    }
    const unpacked = unpackFrames(received[offset + 1], limits.maxRecordsPerMessage * perRecord);
    if (typeof unpacked === 'string') {
      return { kind: 'malformed', reason: unpacked };
    }
    frames = [HEADER_BYTES[kind], ...unpacked];
    offset = 0;
  }
  const count = frames.length - offset;
  const recordFrames = count - 1;
  if (kind === 'hello' || kind === 'credit') {
    return decodeControl(kind, frames.slice(offset + 1));
  }
  if (recordFrames === 0 || recordFrames % perRecord !== 0) {
    return {
      kind: 'malformed',
      reason: `${count} frames: expected the header and a multiple of ${perRecord} frames`,
    };
  }
  if (recordFrames / perRecord > limits.maxRecordsPerMessage) {
    return {
      kind: 'malformed',
      reason: `${recordFrames / perRecord} records in one message, above maxRecordsPerMessage (${limits.maxRecordsPerMessage})`,
    };
  }
  const rejected: RejectedRecord[] = [];
  const keep = <T>(result: T | RejectedRecord, into: T[]) => {
    if (isRejected(result)) {
      rejected.push(result);
    } else {
      into.push(result);
    }
  };
  const start = offset + 1;
  switch (kind) {
    case 'events': {
      const records: DecodedRecord[] = [];
      for (let i = start; i < frames.length; i += perRecord) {
        keep(decodeRecord(frames[i], frames[i + 1], frames[i + 2], limits), records);
      }
      return { kind, records, rejected };
    }
    case 'requests': {
      const records: DecodedRequest[] = [];
      for (let i = start; i < frames.length; i += perRecord) {
        keep(decodeRequest(frames[i], frames[i + 1], frames[i + 2], frames[i + 3], limits), records);
      }
      return { kind, records, rejected };
    }
    case 'replies': {
      const records: DecodedReply[] = [];
      for (let i = start; i < frames.length; i += perRecord) {
        keep(decodeReply(frames[i], frames[i + 1], frames[i + 2], frames[i + 3]), records);
      }
      return { kind, records, rejected };
    }
    case 'deliveries': {
      const records: DecodedDelivery[] = [];
      for (let i = start; i < frames.length; i += perRecord) {
        keep(decodeDelivery(frames[i], frames[i + 1], frames[i + 2], frames[i + 3], frames[i + 4], limits), records);
      }
      return { kind, records, rejected };
    }
  }
}

const MAX_WINDOW = 1_000_000;

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

function decodeDelivery(
  idFrame: Buffer,
  attemptFrame: Buffer,
  patternFrame: Buffer,
  info: Buffer,
  payload: Buffer,
  limits: DecodeLimits,
): DecodedDelivery | RejectedRecord {
  const request = decodeRequest(idFrame, patternFrame, info, payload, limits);
  const match = /^(\d{1,4})\/(\d{1,4})$/.exec(attemptFrame.toString('latin1'));
  if (match === null) {
    return { reason: 'delivery attempt is not "n/max"', id: request.id };
  }
  if (isRejected(request)) {
    return request;
  }
  return { ...request, attempt: Number(match[1]), maxAttempts: Number(match[2]) };
}

function isRejected(value: unknown): value is RejectedRecord {
  return typeof (value as RejectedRecord).reason === 'string';
}

function describeBadHeader(header: Buffer | undefined, frameCount: number): string {
  if (header !== undefined && header.length === 4 && header.subarray(0, 2).toString('latin1') === 'NZ') {
    return `unsupported protocol header "${header.toString('latin1')}" (this side speaks version ${PROTOCOL_VERSION}: "${EVENTS_HEADER}", "${REQUESTS_HEADER}", "${REPLIES_HEADER}")`;
  }
  return `${frameCount}-frame message without an "NZ${PROTOCOL_VERSION}" header`;
}

const MAX_ID_LENGTH = 64;

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
  if (typeof decoded === 'string') {
    return { reason: `reply ${id}: ${decoded}`, id };
  }
  return { id, status: status as ReplyStatus, data: decoded.data };
}

/** Returns the record, or why it was rejected. */
function decodeRecord(patternFrame: Buffer, info: Buffer, payload: Buffer, limits: DecodeLimits): DecodedRecord | RejectedRecord {
  if (patternFrame.length === 0) {
    return { reason: 'empty pattern' };
  }
  if (patternFrame.length > limits.maxPatternLength) {
    return { reason: `pattern of ${patternFrame.length} bytes, above maxPatternLength (${limits.maxPatternLength})` };
  }
  const pattern = patternFrame.toString('utf8');
  const decoded = decodePayload(info, payload);
  if (typeof decoded === 'string') {
    return { reason: `pattern "${pattern}": ${decoded}` };
  }
  return { pattern, data: decoded.data, metadata: decoded.metadata };
}

/** Decodes info and payload frames; returns why not as a string. */
function decodePayload(info: Buffer, payload: Buffer): { data: unknown; metadata: PacketMetadata | undefined } | string {
  if (info.length === 0) {
    return 'empty info frame';
  }
  let metadata: PacketMetadata | undefined;
  if (info.length > 1) {
    metadata = parseMetadata(info.subarray(1));
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

function parseMetadata(bytes: Buffer): PacketMetadata | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch {
    return undefined;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    return undefined;
  }
  const metadata: PacketMetadata = {};
  for (const [key, value] of Object.entries(parsed)) {
    if (typeof value !== 'string') {
      return undefined;
    }
    if (key !== '__proto__') {
      metadata[key] = value;
    }
  }
  return metadata;
}
