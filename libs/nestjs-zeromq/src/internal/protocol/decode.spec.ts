import { decodeMessage, FragmentWriter, joinFragments, type DecodedMessage } from './wire.js';

/**
 * decodeMessage's edges, one by one (the mutation run of docs/mutation.md): each limit at and past
 * its value, each reason a peer or a log reader sees, and the control messages.
 */
const limits = { maxPatternLength: 8, maxRecordsPerMessage: 2 };
const decode = (frames: Array<string | Uint8Array>, offset = 0) =>
  decodeMessage(
    frames.map((frame) => Buffer.from(frame)),
    limits,
    offset,
  );
const reasonOf = (decoded: DecodedMessage) => (decoded as { reason: string }).reason;
const packedBody = (fields: string[]) => Buffer.from(joinFragments([new FragmentWriter().write(fields)]));

describe('decodeMessage', () => {
  describe('hello and credit', () => {
    it('reads a producer id of 1 to 64 bytes, and calls any other length malformed', () => {
      expect(decode(['NZ1H', 'p'])).toEqual({ kind: 'hello', producerId: 'p' });
      expect(decode(['NZ1H', 'i'.repeat(64)])).toEqual({ kind: 'hello', producerId: 'i'.repeat(64) });
      expect(decode(['NZ1H', 'i'.repeat(65)])).toEqual({ kind: 'malformed', reason: 'hello with a producer id of 65 bytes' });
      expect(decode(['NZ1H', ''])).toEqual({ kind: 'malformed', reason: 'hello with a producer id of 0 bytes' });
    });

    it('reads a window from 0 to 1,000,000, and calls anything else malformed', () => {
      expect(decode(['NZ1C', '0'])).toEqual({ kind: 'credit', window: 0 });
      expect(decode(['NZ1C', '1000000'])).toEqual({ kind: 'credit', window: 1_000_000 });
      expect(decode(['peer', 'NZ1C', '25'], 1)).toEqual({ kind: 'credit', window: 25 });
      for (const text of ['1000001', '9999999', '12345678', '', '-1', '1.5', ' 1', '1 ', '1e3']) {
        expect(decode(['NZ1C', text])).toEqual({
          kind: 'malformed',
          reason: `credit "${text}" is not a number from 0 to 1000000`,
        });
      }
      // The reason quotes at most 20 characters of what came.
      expect(reasonOf(decode(['NZ1C', 'x'.repeat(30)]))).toBe(`credit "${'x'.repeat(20)}" is not a number from 0 to 1000000`);
    });

    it('calls a control message with other than one frame after its header malformed', () => {
      expect(decode(['NZ1H'])).toEqual({ kind: 'malformed', reason: 'hello message with 0 frames after the header (1 expected)' });
      expect(decode(['NZ1C', '1', '2'])).toEqual({
        kind: 'malformed',
        reason: 'credit message with 2 frames after the header (1 expected)',
      });
    });
  });

  describe('the message shape', () => {
    it('calls a header with no record, or a partial one, malformed', () => {
      expect(decode(['NZ1E'])).toEqual({
        kind: 'malformed',
        reason: '1 frames: expected the header and a multiple of 3 frames',
      });
      expect(reasonOf(decode(['NZ1Q', '1', 'p', 'j', '1', '2']))).toBe('6 frames: expected the header and a multiple of 4 frames');
    });

    it('takes exactly maxRecordsPerMessage records, and calls one more malformed', () => {
      expect(decode(['NZ1E', 'a', 'j', '1', 'b', 'j', '2'])).toMatchObject({
        kind: 'events',
        records: [{ pattern: 'a' }, { pattern: 'b' }],
      });
      expect(decode(['NZ1E', 'a', 'j', '1', 'b', 'j', '2', 'c', 'j', '3'])).toEqual({
        kind: 'malformed',
        reason: '3 records in one message, above maxRecordsPerMessage (2)',
      });
    });

    it('calls a packed message of other than two frames malformed, counting from the offset', () => {
      const body = packedBody(['p', 'j', '1']);
      expect(decode(['NZ1e', body, body])).toEqual({ kind: 'malformed', reason: 'packed message of 3 frames (2 expected)' });
      expect(decode(['NZ1e'])).toEqual({ kind: 'malformed', reason: 'packed message of 1 frames (2 expected)' });
      expect(decode(['peer', 'NZ1e'], 1)).toEqual({ kind: 'malformed', reason: 'packed message of 1 frames (2 expected)' });
      expect(decode(['peer', 'NZ1e', body], 1)).toMatchObject({ kind: 'events', records: [{ pattern: 'p', data: 1 }] });
    });

    it('allows a packed body the frames of maxRecordsPerMessage records, and no more', () => {
      const two = packedBody(['a', 'j', '1', 'b', 'j', '2']);
      expect(decode(['NZ1e', two])).toMatchObject({ kind: 'events', records: [{ pattern: 'a' }, { pattern: 'b' }] });
      const seven = packedBody(['a', 'j', '1', 'b', 'j', '2', 'c']);
      expect(decode(['NZ1e', seven])).toEqual({ kind: 'malformed', reason: 'packed body with more than 6 frames' });
    });

    it('reads past routing frames only from the offset', () => {
      expect(decode(['x', 'y', 'NZ1E', 'p', 'j', '1'], 2)).toMatchObject({ kind: 'events', records: [{ pattern: 'p' }] });
      expect(decode(['x', 'NZ1E', 'p'], 1)).toMatchObject({ kind: 'malformed' });
      // One frame left after the offset and no header: a plain message.
      expect(decode(['x', 'raw'], 1)).toEqual({ kind: 'plain', frame: Buffer.from('raw') });
    });
  });

  describe('records', () => {
    it('takes a pattern of 1 to maxPatternLength bytes', () => {
      expect(decode(['NZ1E', 'p'.repeat(8), 'j', '1'])).toMatchObject({ records: [{ pattern: 'pppppppp' }], rejected: [] });
      expect(decode(['NZ1E', '', 'j', '1'])).toEqual({ kind: 'events', records: [], rejected: [{ reason: 'empty pattern' }] });
      expect(decode(['NZ1E', 'p'.repeat(9), 'j', '1'])).toEqual({
        kind: 'events',
        records: [],
        rejected: [{ reason: 'pattern of 9 bytes, above maxPatternLength (8)' }],
      });
    });

    it('rejects an empty info frame, an unknown encoding and a payload that is not JSON, with the pattern', () => {
      expect(decode(['NZ1E', 'p', '', '1'])).toMatchObject({ rejected: [{ reason: 'pattern "p": empty info frame' }] });
      expect(decode(['NZ1E', 'p', 'z', '1'])).toMatchObject({ rejected: [{ reason: 'pattern "p": unknown payload encoding "z"' }] });
      expect(decode(['NZ1E', 'p', 'j', '{'])).toMatchObject({ rejected: [{ reason: 'pattern "p": payload is not valid JSON' }] });
    });

    it('reads the payload after metadata in either encoding, an empty JSON payload as undefined', () => {
      expect(decode(['NZ1E', 'p', 'b{"t":"1"}', 'raw', 'q', 'j{"t":"2"}', ''])).toEqual({
        kind: 'events',
        rejected: [],
        records: [
          { pattern: 'p', data: Buffer.from('raw'), metadata: { t: '1' } },
          { pattern: 'q', data: undefined, metadata: { t: '2' } },
        ],
      });
      // An empty bytes payload stays bytes.
      expect(decode(['NZ1E', 'p', 'b', ''])).toMatchObject({ records: [{ data: Buffer.alloc(0), metadata: undefined }] });
    });

    it.each([['null'], ['[]'], ['"s"'], ['1'], ['{"a":1}'], ['{"a":"b","c":null}'], ['{"a":{}}'], ['{']])(
      'rejects metadata %s: not a JSON object of strings',
      (metadata) => {
        expect(decode(['NZ1E', 'p', `j${metadata}`, '1'])).toEqual({
          kind: 'events',
          records: [],
          rejected: [{ reason: 'pattern "p": metadata is not a JSON object of strings' }],
        });
      },
    );

    it('takes empty metadata and metadata of strings', () => {
      expect(decode(['NZ1E', 'p', 'j{}', '1', 'q', 'j{"a":"b","c":""}', '2'])).toMatchObject({
        records: [
          { pattern: 'p', metadata: {} },
          { pattern: 'q', metadata: { a: 'b', c: '' } },
        ],
      });
    });
  });

  describe('requests and deliveries', () => {
    it('takes a request id of 1 to 64 bytes; without one the record is rejected, with no id to answer', () => {
      const id = 'i'.repeat(64);
      expect(decode(['NZ1Q', id, 'p', 'j', '1'])).toEqual({
        kind: 'requests',
        rejected: [],
        records: [{ id, pattern: 'p', data: 1, metadata: undefined }],
      });
      expect(decode(['NZ1Q', `${id}x`, 'p', 'j', '1', '', 'p', 'j', '1'])).toEqual({
        kind: 'requests',
        records: [],
        rejected: [{ reason: 'request id of 65 bytes (1 to 64 allowed)' }, { reason: 'request id of 0 bytes (1 to 64 allowed)' }],
      });
    });

    it('reads a delivery: id, attempt n/max and the record', () => {
      expect(decode(['NZ1D', 'p.1', '2/5', 'orders', 'j', '{"a":1}', 'p.2', '9999/9999', 'x', 'b', 'r'])).toEqual({
        kind: 'deliveries',
        rejected: [],
        records: [
          { id: 'p.1', attempt: 2, maxAttempts: 5, pattern: 'orders', data: { a: 1 }, metadata: undefined },
          { id: 'p.2', attempt: 9999, maxAttempts: 9999, pattern: 'x', data: Buffer.from('r'), metadata: undefined },
        ],
      });
    });

    it('reads every decimal digit of an attempt, 0 included: the form n/max is checked here, not what the numbers mean', () => {
      expect(decode(['NZ1D', 'p.1', '10/20', 'x', 'j', '1', 'p.2', '0/0', 'x', 'j', '1'])).toEqual({
        kind: 'deliveries',
        rejected: [],
        records: [
          { id: 'p.1', attempt: 10, maxAttempts: 20, pattern: 'x', data: 1, metadata: undefined },
          { id: 'p.2', attempt: 0, maxAttempts: 0, pattern: 'x', data: 1, metadata: undefined },
        ],
      });
    });

    it.each([['1'], ['1/'], ['/5'], ['12345/5'], ['1/12345'], ['a/5'], [' 1/5'], ['1/5 '], ['1/5/5'], ['1/:'], [':/5'], ['1//']])(
      'rejects a delivery whose attempt is %j, keeping its id',
      (attempt) => {
        expect(decode(['NZ1D', 'p.1', attempt, 'orders', 'j', '1'])).toEqual({
          kind: 'deliveries',
          records: [],
          rejected: [{ reason: 'delivery attempt is not "n/max"', id: 'p.1' }],
        });
      },
    );

    it('rejects a delivery with a bad id or record, keeping the id when it could be read', () => {
      expect(decode(['NZ1D', '', '1/5', 'orders', 'j', '1'])).toEqual({
        kind: 'deliveries',
        records: [],
        rejected: [{ reason: 'request id of 0 bytes (1 to 64 allowed)' }],
      });
      expect(decode(['NZ1D', 'p.1', '1/5', '', 'j', '1'])).toEqual({
        kind: 'deliveries',
        records: [],
        rejected: [{ reason: 'empty pattern', id: 'p.1' }],
      });
    });
  });

  describe('replies', () => {
    it('reads every status, and rejects an unknown one or a bad payload with the reply id', () => {
      const statuses = ['n', 'd', 'c', 'e', 'a', 'f', 'x'];
      const frames = statuses.flatMap((status, i) => [`${i}`, status, 'j', `${i}`]);
      expect(
        decodeMessage(
          ['NZ1R', ...frames].map((frame) => Buffer.from(frame)),
          { ...limits, maxRecordsPerMessage: 7 },
        ),
      ).toEqual({
        kind: 'replies',
        rejected: [],
        records: statuses.map((status, i) => ({ id: `${i}`, status, data: i })),
      });
      expect(decode(['NZ1R', '7', 'q', 'j', '1', '8', 'n', 'j', '{'])).toEqual({
        kind: 'replies',
        records: [],
        rejected: [
          { reason: 'reply 7: unknown status "q"', id: '7' },
          { reason: 'reply 8: payload is not valid JSON', id: '8' },
        ],
      });
    });
  });
});
