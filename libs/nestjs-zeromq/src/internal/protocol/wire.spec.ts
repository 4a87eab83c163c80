import {
  deliveredRecord,
  fragmentFields,
  FragmentWriter,
  recordFields,
  decodeMessage,
  encodeBareRecord,
  encodeRecord,
  encodeReply,
  HEADERS,
  joinFragments,
  PACKED_HEADERS,
  type EncodedRecord,
  type EncodedReply,
  type Frame,
  type RecordKind,
} from './wire.js';

const limits = { maxPatternLength: 64, maxRecordsPerMessage: 3 };
const toBuffers = (frames: Array<string | Uint8Array>) => frames.map((frame) => Buffer.from(frame));

// Messages as the outboxes and the reply writer send them: a lone record in the multipart form,
// several packed into one body.
const multipart = (kind: RecordKind, records: Frame[][]): Frame[] => [HEADERS[kind], ...records.flat()];
function packed(kind: RecordKind, records: Frame[][]): Frame[] {
  const writer = new FragmentWriter();
  return [PACKED_HEADERS[kind], joinFragments(records.map((fields) => writer.write(fields)))];
}
const events = (records: EncodedRecord[]) => records.map((record) => recordFields.event(record));
const replies = (list: EncodedReply[]) => list.map((reply) => recordFields.reply(reply));

describe('wire format', () => {
  it('round-trips a batch of JSON, binary and metadata-carrying records', () => {
    const records = [
      encodeRecord('orders.created', { id: 1, tags: ['a'] }),
      encodeRecord('blob', Buffer.from([0, 255])),
      encodeRecord('traced', 'text', { traceId: 't-1' }),
    ];
    const frames = multipart('events', events(records));
    expect(frames[0]).toBe('NZ1E');
    expect(frames).toHaveLength(1 + 3 * 3);
    expect(decodeMessage(toBuffers(frames), limits)).toEqual({
      kind: 'events',
      rejected: [],
      records: [
        { pattern: 'orders.created', data: { id: 1, tags: ['a'] }, metadata: undefined },
        { pattern: 'blob', data: Buffer.from([0, 255]), metadata: undefined },
        { pattern: 'traced', data: 'text', metadata: { traceId: 't-1' } },
      ],
    });
  });

  it('encodes an undefined payload as an empty JSON frame and decodes it back', () => {
    const frames = multipart('events', events([encodeRecord('ping', undefined)]));
    expect(frames[3]).toBe('');
    expect(decodeMessage(toBuffers(frames), limits)).toMatchObject({ records: [{ pattern: 'ping', data: undefined }] });
  });

  it('keeps bare payloads as they are: bytes, text, or JSON text', () => {
    expect(encodeBareRecord('p', Buffer.from('x')).payload).toEqual(Buffer.from('x'));
    expect(encodeBareRecord('p', 'hello').payload).toBe('hello');
    expect(encodeBareRecord('p', { a: 1 }).payload).toBe('{"a":1}');
  });

  it('treats a lone frame without the header as a plain message', () => {
    expect(decodeMessage([Buffer.from('hello')], limits)).toEqual({ kind: 'plain', frame: Buffer.from('hello') });
  });

  it.each([
    [['NZ1E', 'p', 'j'], 'multiple of 3'],
    [['NZ2E', 'p', 'j', '{}'], 'unsupported protocol header "NZ2E"'],
    [['x', 'y'], '2-frame message without an "NZ1" header'],
    [['NZ1E', ...Array(4).fill(['p', 'j', '1']).flat()], 'above maxRecordsPerMessage (3)'],
  ])('calls %j malformed', (frames, reason) => {
    const decoded = decodeMessage(toBuffers(frames), limits);
    expect(decoded.kind).toBe('malformed');
    expect((decoded as { reason: string }).reason).toContain(reason);
  });

  it('rejects bad records one by one and keeps the good ones', () => {
    const decoded = decodeMessage(
      toBuffers(['NZ1E', ...['ok', 'j', '1'], ...['p'.repeat(65), 'j', '1'], ...['bad', 'j["x"]', '1'], ...['ok', 'b', 'raw']]),
      { ...limits, maxRecordsPerMessage: 4 },
    );
    expect(decoded).toEqual({
      kind: 'events',
      records: [
        { pattern: 'ok', data: 1, metadata: undefined },
        { pattern: 'ok', data: Buffer.from('raw'), metadata: undefined },
      ],
      rejected: [
        { reason: 'pattern of 65 bytes, above maxPatternLength (64)' },
        { reason: 'pattern "bad": metadata is not a JSON object of strings' },
      ],
    });
  });

  it('round-trips requests and replies, past routing frames', () => {
    const requests = multipart('requests', [
      recordFields.request('1', encodeRecord('sum', [1, 2])),
      recordFields.request('2', encodeRecord('x', null)),
    ]);
    expect(decodeMessage(toBuffers(['peer-id', ...requests]), limits, 1)).toEqual({
      kind: 'requests',
      rejected: [],
      records: [
        { id: '1', pattern: 'sum', data: [1, 2], metadata: undefined },
        { id: '2', pattern: 'x', data: null, metadata: undefined },
      ],
    });
    const answers = [
      'peer-id',
      ...multipart(
        'replies',
        replies([encodeReply('1', 'n', 3), encodeReply('1', 'c', undefined), encodeReply('2', 'e', { status: 'error' })]),
      ),
    ];
    expect(decodeMessage(toBuffers(answers), limits, 1)).toEqual({
      kind: 'replies',
      rejected: [],
      records: [
        { id: '1', status: 'n', data: 3 },
        { id: '1', status: 'c', data: undefined },
        { id: '2', status: 'e', data: { status: 'error' } },
      ],
    });
  });

  it('keeps the id of a bad request so that it can be answered', () => {
    expect(decodeMessage(toBuffers(['NZ1Q', '7', 'sum', 'j', '{nope']), limits)).toEqual({
      kind: 'requests',
      records: [],
      rejected: [{ id: '7', reason: 'pattern "sum": payload is not valid JSON' }],
    });
  });

  it('packs a batch into one body frame and decodes it like the multipart form', () => {
    const records = [encodeRecord('orders.created', { id: 1 }), encodeRecord('blob', Buffer.from([0, 255])), encodeRecord('ünïcode', 'ß')];
    const batch = packed('events', events(records));
    expect(batch).toHaveLength(2);
    expect(batch[0]).toBe('NZ1e');
    expect(decodeMessage(toBuffers(batch), limits)).toEqual(decodeMessage(toBuffers(multipart('events', events(records))), limits));
    const answers = ['peer', ...packed('replies', replies([encodeReply('1', 'a', undefined), encodeReply('2', 'f', 'boom')]))];
    expect(answers.map((frame) => (typeof frame === 'string' ? frame : 'body'))).toEqual(['peer', 'NZ1r', 'body']);
    expect(decodeMessage(toBuffers(answers), limits, 1)).toMatchObject({
      kind: 'replies',
      records: [
        { id: '1', status: 'a' },
        { id: '2', status: 'f', data: 'boom' },
      ],
    });
  });

  it.each([
    ['a truncated length', Buffer.from([0, 0])],
    ['a frame running past the end', Buffer.from([0, 0, 0, 9, 1, 2])],
  ])('calls a packed body with %s malformed', (_what, body) => {
    expect(decodeMessage([Buffer.from('NZ1e'), body], limits)).toMatchObject({ kind: 'malformed' });
  });

  it('refuses a packed body with more records than allowed before splitting it all', () => {
    const tooMany = packed('events', events(Array.from({ length: 4 }, () => encodeRecord('p', 1))));
    expect(decodeMessage(toBuffers(tooMany), limits)).toEqual({ kind: 'malformed', reason: 'packed body with more than 9 frames' });
  });

  it('never lets metadata set a prototype', () => {
    const decoded = decodeMessage(toBuffers(['NZ1E', 'p', 'j{"__proto__":"x","a":"b"}', '1']), limits);
    expect(decoded).toMatchObject({ records: [{ metadata: { a: 'b' } }] });
    const metadata = (decoded as { records: Array<{ metadata: object }> }).records[0].metadata;
    expect(Object.getPrototypeOf(metadata)).toBe(Object.prototype);
  });

  describe('a delivery packed once', () => {
    const record = encodeRecord('orders.created', { id: 7, note: 'ünïcode' }, { traceparent: 't' });
    const packed = new FragmentWriter().write(recordFields.delivery('p.1', 1, 5, record));

    it('is redelivered with only its attempt changed', () => {
      const again = recordFields.redelivery(fragmentFields(packed), 3, 5).map((frame) => Buffer.from(frame).toString());
      expect(again).toEqual(['p.1', '3/5', 'orders.created', record.info, record.payload]);
    });

    it('gives back the record it carries, for its dead letter', () => {
      const back = deliveredRecord(fragmentFields(packed));
      expect([back.pattern, back.info, Buffer.from(back.payload).toString()]).toEqual(['orders.created', record.info, record.payload]);
      expect(back.size).toBe(
        Buffer.byteLength(record.pattern) + Buffer.byteLength(record.info) + Buffer.byteLength(record.payload as string),
      );
    });
  });
});
