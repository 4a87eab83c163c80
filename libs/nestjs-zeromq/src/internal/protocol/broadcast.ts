import { fragmentFields, joinFragments, type Fragment } from './packing.js';
import { HEADERS, PACKED_HEADERS } from './headers.js';
import type { Frame } from './records.js';

/**
 * Broadcast messages (PUB → SUB; docs/protocol.md, "Broadcasts"). ZeroMQ filters on the first
 * frame, so the topic (the records' pattern) comes first, then a stamp, then an events message:
 *
 *   [ topic, stamp, "NZ1E", pattern, info, payload ]      one record
 *   [ topic, stamp, "NZ1e", packed records ]               a batch, every record of that pattern
 *   [ topic, payload ]                                     bare (plain peers), no stamp
 *
 * The stamp is `<publisher id>:<sequence>`: the sequence counts the records this publisher sent
 * on this topic before the message's first one, so a subscriber sees a gap when records were
 * dropped on the way (a publisher drops at a subscriber's high-water mark without telling).
 */
export const BROADCAST_PREFIX_FRAMES = 2;
const MAX_PUBLISHER_ID_LENGTH = 64;
const MAX_SEQUENCE_DIGITS = 15;

/** A broadcast message of one record or a packed batch of records of `topic`. */
export function broadcastFrames(topic: string, stamp: string, fragments: readonly Fragment[]): Frame[] {
  return fragments.length === 1
    ? [topic, stamp, HEADERS.events, ...fragmentFields(fragments[0])]
    : [topic, stamp, PACKED_HEADERS.events, joinFragments(fragments)];
}

export function encodeStamp(publisherId: string, sequence: number): string {
  return `${publisherId}:${sequence}`;
}

/** A stamp's publisher and sequence, or undefined when the frame is not a stamp. */
export function decodeStamp(frame: Buffer): { publisher: string; sequence: number } | undefined {
  const text = frame.toString('latin1');
  const colon = text.lastIndexOf(':');
  const digits = text.length - colon - 1;
  if (colon < 1 || colon > MAX_PUBLISHER_ID_LENGTH || digits < 1 || digits > MAX_SEQUENCE_DIGITS) {
    return undefined;
  }
  const sequence = Number(text.slice(colon + 1));
  return Number.isSafeInteger(sequence) && sequence >= 0 ? { publisher: text.slice(0, colon), sequence } : undefined;
}
