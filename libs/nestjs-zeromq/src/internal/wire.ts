import type { PacketMetadata } from '@nestjs/microservices';

/**
 * The wire format (docs/protocol.md). An events message is one ZeroMQ multipart message:
 *
 *   [ "NZ1E", pattern, info, payload, pattern, info, payload, ... ]
 *
 * Frame 0 is the header: magic "NZ", protocol version "1", message kind "E" (events).
 * Then one or more records of three frames. `info` starts with the payload encoding byte
 * ('j' JSON text, 'b' raw bytes), optionally followed by a JSON object of string metadata.
 * The pattern is its own frame so that routing never parses a payload.
 */
export const PROTOCOL_VERSION = '1';
export const EVENTS_HEADER = `NZ${PROTOCOL_VERSION}E`;
const EVENTS_HEADER_BYTES = Buffer.from(EVENTS_HEADER, 'latin1');
const FRAMES_PER_RECORD = 3;

const ENCODING_JSON = 'j';
const ENCODING_BYTES = 'b';
const ENCODING_JSON_CODE = ENCODING_JSON.charCodeAt(0);
const ENCODING_BYTES_CODE = ENCODING_BYTES.charCodeAt(0);

/** One record ready for a socket; frames are strings or bytes, as zeromq.js accepts both. */
export interface EncodedRecord {
  readonly pattern: string;
  readonly info: string;
  readonly payload: string | Uint8Array;
  /** Approximate size in bytes, for batch limits. */
  readonly size: number;
}

export function isBinary(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array;
}

/** Encodes a record of the framed protocol. Throws if the payload cannot be serialized. */
export function encodeRecord(pattern: string, payload: unknown, metadata?: PacketMetadata): EncodedRecord {
  const binary = isBinary(payload);
  const body = binary ? payload : (JSON.stringify(payload) ?? '');
  const hasMetadata = metadata !== undefined && Object.keys(metadata).length > 0;
  const encoding = binary ? ENCODING_BYTES : ENCODING_JSON;
  const info = hasMetadata ? encoding + JSON.stringify(metadata) : encoding;
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
export function encodeEventsMessage(records: readonly EncodedRecord[]): Array<string | Uint8Array> {
  const frames: Array<string | Uint8Array> = [EVENTS_HEADER];
  for (const record of records) {
    frames.push(record.pattern, record.info, record.payload);
  }
  return frames;
}

export interface DecodedRecord {
  pattern: string;
  data: unknown;
  metadata: PacketMetadata | undefined;
}

export interface DecodeLimits {
  maxPatternLength: number;
  maxRecordsPerMessage: number;
}

/** What one received ZeroMQ message turned out to be. */
export type DecodedMessage =
  | { kind: 'events'; records: DecodedRecord[]; rejected: string[] }
  | { kind: 'plain'; frame: Buffer }
  | { kind: 'malformed'; reason: string };

/**
 * Splits a received message into records. Never throws: a message whose shape is wrong is
 * `malformed`; a record that is wrong on its own is listed in `rejected` and the others are kept.
 */
export function decodeMessage(frames: Buffer[], limits: DecodeLimits): DecodedMessage {
  const header = frames[0];
  if (header === undefined || !header.equals(EVENTS_HEADER_BYTES)) {
    if (frames.length === 1) {
      return { kind: 'plain', frame: frames[0] };
    }
    return { kind: 'malformed', reason: describeBadHeader(header, frames.length) };
  }
  const recordFrames = frames.length - 1;
  if (recordFrames === 0 || recordFrames % FRAMES_PER_RECORD !== 0) {
    return {
      kind: 'malformed',
      reason: `${frames.length} frames: expected the header and a multiple of ${FRAMES_PER_RECORD} frames`,
    };
  }
  if (recordFrames / FRAMES_PER_RECORD > limits.maxRecordsPerMessage) {
    return {
      kind: 'malformed',
      reason: `${recordFrames / FRAMES_PER_RECORD} records in one message, above maxRecordsPerMessage (${limits.maxRecordsPerMessage})`,
    };
  }
  const records: DecodedRecord[] = [];
  const rejected: string[] = [];
  for (let i = 1; i < frames.length; i += FRAMES_PER_RECORD) {
    const result = decodeRecord(frames[i], frames[i + 1], frames[i + 2], limits);
    if (typeof result === 'string') {
      rejected.push(result);
    } else {
      records.push(result);
    }
  }
  return { kind: 'events', records, rejected };
}

function describeBadHeader(header: Buffer | undefined, frameCount: number): string {
  if (header !== undefined && header.length === EVENTS_HEADER_BYTES.length && header.subarray(0, 2).toString('latin1') === 'NZ') {
    return `unsupported protocol header "${header.toString('latin1')}" (this side speaks "${EVENTS_HEADER}")`;
  }
  return `${frameCount}-frame message without the "${EVENTS_HEADER}" header`;
}

/** Returns the record, or a string saying why it was rejected. */
function decodeRecord(patternFrame: Buffer, info: Buffer, payload: Buffer, limits: DecodeLimits): DecodedRecord | string {
  if (patternFrame.length === 0) {
    return 'empty pattern';
  }
  if (patternFrame.length > limits.maxPatternLength) {
    return `pattern of ${patternFrame.length} bytes, above maxPatternLength (${limits.maxPatternLength})`;
  }
  const pattern = patternFrame.toString('utf8');
  if (info.length === 0) {
    return `pattern "${pattern}": empty info frame`;
  }
  let metadata: PacketMetadata | undefined;
  if (info.length > 1) {
    metadata = parseMetadata(info.subarray(1));
    if (metadata === undefined) {
      return `pattern "${pattern}": metadata is not a JSON object of strings`;
    }
  }
  const encoding = info[0];
  if (encoding === ENCODING_BYTES_CODE) {
    return { pattern, data: payload, metadata };
  }
  if (encoding !== ENCODING_JSON_CODE) {
    return `pattern "${pattern}": unknown payload encoding "${String.fromCharCode(encoding)}"`;
  }
  if (payload.length === 0) {
    return { pattern, data: undefined, metadata };
  }
  try {
    return { pattern, data: JSON.parse(payload.toString('utf8')), metadata };
  } catch {
    return `pattern "${pattern}": payload is not valid JSON`;
  }
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
