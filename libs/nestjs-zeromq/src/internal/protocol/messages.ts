import { HEADERS } from './headers.js';
import { packFrames } from './packing.js';
import { recordFields, type EncodedRecord, type EncodedReply, type Frame } from './records.js';

/**
 * Whole messages in the multipart form, built at once. The client and server hot paths write
 * packed fragments instead (outbound batches); these serve control messages, tools and tests.
 */
export function encodeEventsMessage(records: readonly EncodedRecord[]): Frame[] {
  return [HEADERS.events, ...records.flatMap(recordFields.event)];
}

export function encodeRequestsMessage(requests: ReadonlyArray<{ id: string; record: EncodedRecord }>): Frame[] {
  return [HEADERS.requests, ...requests.flatMap(({ id, record }) => recordFields.request(id, record))];
}

/** Builds one replies message (packed when there are several), after the frames that route it to the peer. */
export function encodeRepliesMessage(route: readonly Frame[], replies: readonly EncodedReply[]): Frame[] {
  const frames = [HEADERS.replies, ...replies.flatMap(recordFields.reply)];
  return [...route, ...(replies.length > 1 ? packFrames(frames) : frames)];
}

export function encodeHello(producerId: string): Frame[] {
  return [HEADERS.hello, producerId];
}

export function encodeCredit(route: readonly Frame[], window: number): Frame[] {
  return [...route, HEADERS.credit, String(window)];
}
