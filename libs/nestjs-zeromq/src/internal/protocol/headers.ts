/**
 * Message headers (docs/protocol.md). Every message is one ZeroMQ multipart message whose frame 0
 * is a header: magic "NZ", protocol version "1", and the message kind:
 *
 *   events      [ "NZ1E", (pattern, info, payload)... ]
 *   requests    [ "NZ1Q", (id, pattern, info, payload)... ]
 *   replies     [ "NZ1R", (id, status, info, payload)... ]      (also acks of deliveries)
 *   deliveries  [ "NZ1D", (id, attempt, pattern, info, payload)... ]   (at-least-once events)
 *   hello       [ "NZ1H", producer id ]                         (producer → worker, on connect)
 *   credit      [ "NZ1C", window ]                              (worker → producer)
 *
 * The kinds that carry records may travel packed (packing.ts): the kind letter in lower case.
 */
export const PROTOCOL_VERSION = '1';

export type MessageKind = 'events' | 'requests' | 'replies' | 'deliveries' | 'hello' | 'credit';
/** Kinds whose messages carry records, and so may travel packed. */
export type RecordKind = 'events' | 'requests' | 'replies' | 'deliveries';

const LETTERS: Record<MessageKind, string> = { events: 'E', requests: 'Q', replies: 'R', deliveries: 'D', hello: 'H', credit: 'C' };

/** Header of the multipart form of each kind. */
export const HEADERS = Object.fromEntries(
  Object.entries(LETTERS).map(([kind, letter]) => [kind, `NZ${PROTOCOL_VERSION}${letter}`]),
) as Record<MessageKind, string>;
/** Header of the packed form of each record kind. */
export const PACKED_HEADERS = Object.fromEntries(
  (['events', 'requests', 'replies', 'deliveries'] as const).map((kind) => [kind, `NZ${PROTOCOL_VERSION}${LETTERS[kind].toLowerCase()}`]),
) as Record<RecordKind, string>;

/** Frames each record of a kind has in the multipart form. */
export const FIELDS_PER_RECORD: Record<MessageKind, number> = { events: 3, requests: 4, replies: 4, deliveries: 5, hello: 1, credit: 1 };

const BY_HEADER = new Map<string, { kind: MessageKind; packed: boolean }>([
  ...Object.entries(HEADERS).map(([kind, header]) => [header, { kind: kind as MessageKind, packed: false }] as const),
  ...Object.entries(PACKED_HEADERS).map(([kind, header]) => [header, { kind: kind as MessageKind, packed: true }] as const),
]);

/** The kind a header frame names, and whether the message is packed; undefined for anything else. */
export function kindOf(header: Buffer | undefined): { kind: MessageKind; packed: boolean } | undefined {
  return header === undefined || header.length !== 4 ? undefined : BY_HEADER.get(header.toString('latin1'));
}

export function describeBadHeader(header: Buffer | undefined, frameCount: number): string {
  if (header !== undefined && header.length === 4 && header.subarray(0, 2).toString('latin1') === 'NZ') {
    return `unsupported protocol header "${header.toString('latin1')}" (this side speaks version ${PROTOCOL_VERSION}: "${HEADERS.events}", "${HEADERS.requests}", "${HEADERS.replies}")`;
  }
  return `${frameCount}-frame message without an "NZ${PROTOCOL_VERSION}" header`;
}
