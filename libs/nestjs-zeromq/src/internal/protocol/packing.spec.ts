import { fragmentFields, FragmentWriter, joinFragments, packedBounds, type Fragment } from './packing.js';

const SLAB_BYTES = 1 << 20;
const text = (buffers: Buffer[] | string) => (typeof buffers === 'string' ? buffers : buffers.map((buffer) => buffer.toString('utf8')));
/** The frames of a packed body (views into it, from the bounds the decoder reads), or why it is not a valid body. */
function unpack(body: Buffer, maxFrames: number): Buffer[] | string {
  const bounds = packedBounds(body, maxFrames);
  if (typeof bounds === 'string') {
    return bounds;
  }
  return Array.from({ length: bounds.length / 2 }, (_, i) => body.subarray(bounds[2 * i], bounds[2 * i + 1]));
}
/** A packed body of `frames`, as an outbox writes one. */
const packBody = (frames: readonly string[]) => joinFragments([new FragmentWriter().write(frames)]);
/** Whether `view` shares memory with the slab of `fragment` (no copy was made). */
const sharesSlab = (view: Buffer, fragment: Fragment) => view.buffer === fragment.slab.buffer;

describe('FragmentWriter and joinFragments', () => {
  it('lays consecutive records side by side, so that a batch of them is one view of the slab', () => {
    const writer = new FragmentWriter();
    const fragments = [
      writer.write(['orders', 'j', '{"n":1}']),
      writer.write(['orders', 'j', '{"n":2}']),
      writer.write(['audit', 'b', Buffer.from([0, 255])]),
    ];
    expect(fragments[1].start).toBe(fragments[0].end);
    expect(fragments[2].start).toBe(fragments[1].end);
    const body = joinFragments(fragments);
    expect(sharesSlab(body, fragments[0])).toBe(true);
    expect(body.byteOffset).toBe(fragments[0].slab.byteOffset + fragments[0].start);
    expect(body.length).toBe(fragments[2].end - fragments[0].start);
    const frames = unpack(body, 100) as Buffer[];
    expect(text(frames.slice(0, 6))).toEqual(['orders', 'j', '{"n":1}', 'orders', 'j', '{"n":2}']);
    expect([...frames[8]]).toEqual([0, 255]);
  });

  it('copies fragments that are not adjacent, in the order given', () => {
    const writer = new FragmentWriter();
    const first = writer.write(['a']);
    const second = writer.write(['b']);
    const elsewhere = new FragmentWriter().write(['c']);
    const reordered = joinFragments([second, first]);
    expect(sharesSlab(reordered, first)).toBe(false);
    expect(text(unpack(reordered, 10) as Buffer[])).toEqual(['b', 'a']);
    const mixed = joinFragments([first, second, elsewhere]);
    expect(sharesSlab(mixed, first)).toBe(false);
    expect(text(unpack(mixed, 10) as Buffer[])).toEqual(['a', 'b', 'c']);
  });

  it('gives a record larger than a slab a slab of its own and keeps earlier records intact', () => {
    const writer = new FragmentWriter();
    const small = writer.write(['before']);
    const payload = Buffer.alloc(2 * SLAB_BYTES, 7);
    const large = writer.write([payload]);
    expect(large.slab).not.toBe(small.slab);
    expect([large.start, large.end, large.slab.length]).toEqual([0, payload.length + 4, payload.length + 4]);
    expect(fragmentFields(large)[0].equals(payload)).toBe(true);
    expect(text(fragmentFields(small))).toEqual(['before']);
    // The large slab is full: the next record starts a fresh slab of the usual size.
    const after = writer.write(['after']);
    expect([after.slab.length, after.start]).toEqual([SLAB_BYTES, 0]);
  });

  it('starts a new slab when a record does not fit the rest of the current one, leaving the old records valid', () => {
    const writer = new FragmentWriter();
    const chunk = Buffer.alloc(300_000, 1);
    const fragments = Array.from({ length: 4 }, (_, i) => writer.write([String(i), chunk]));
    expect(fragments.slice(1, 3).map((fragment) => fragment.slab === fragments[0].slab)).toEqual([true, true]);
    expect(fragments[3].slab).not.toBe(fragments[0].slab);
    expect(fragments[3].start).toBe(0);
    expect(fragments.map((fragment) => fragmentFields(fragment)[0].toString())).toEqual(['0', '1', '2', '3']);
    const joined = unpack(joinFragments(fragments), 100) as Buffer[];
    expect(joined.filter((_, i) => i % 2 === 0).map(String)).toEqual(['0', '1', '2', '3']);
  });

  it('takes a smaller slab size: records fill slabs of that size, a larger one gets its own', () => {
    const writer = new FragmentWriter(1024);
    const chunk = Buffer.alloc(300, 1);
    const fragments = Array.from({ length: 4 }, (_, i) => writer.write([String(i), chunk]));
    expect(fragments.map((fragment) => fragment.slab.length)).toEqual([1024, 1024, 1024, 1024]);
    expect(fragments.map((fragment) => fragment.slab === fragments[0].slab)).toEqual([true, true, true, false]);
    const large = writer.write(['big', Buffer.alloc(2000, 2)]);
    expect([large.slab === fragments[3].slab, large.start, large.slab.length]).toEqual([false, 0, large.end]);
    // Text is bounded at 3 bytes a character, but a record past the slab size gets its exact size.
    const text = writer.write(['t', 'é'.repeat(600)]);
    expect([text.start, text.slab.length, text.end]).toEqual([0, 4 + 1 + 4 + 1200, 4 + 1 + 4 + 1200]);
    expect(fragmentFields(fragments[3])[0].toString()).toBe('3');
  });

  it('writes non-ASCII text as UTF-8 with byte lengths', () => {
    const words = ['héllo wörld', '€'.repeat(1_000), '𝄞 clef', '日本語', ''];
    const fragment = new FragmentWriter().write(words);
    const fields = fragmentFields(fragment);
    expect(text(fields)).toEqual(words);
    expect(fields.map((field) => field.length)).toEqual(words.map((word) => Buffer.byteLength(word)));
    expect(fragment.end - fragment.start).toBe(words.reduce((sum, word) => sum + 4 + Buffer.byteLength(word), 0));
  });

  it('fragmentFields gives back the fields written, as views of the slab', () => {
    const fields = ['pattern', Buffer.from('raw bytes'), '', new Uint8Array(0), Buffer.from([1, 2, 3])];
    const fragment = new FragmentWriter().write(fields);
    const read = fragmentFields(fragment);
    expect(read.map((field) => [...field])).toEqual(fields.map((field) => [...(typeof field === 'string' ? Buffer.from(field) : field)]));
    expect(read.every((field) => sharesSlab(field, fragment))).toBe(true);
  });
});

describe('packedBounds', () => {
  it('reads an empty body as no frames and refuses bodies that break the limits or the layout', () => {
    const body = Buffer.from(packBody(['a', 'b', 'c']));
    expect(unpack(Buffer.alloc(0), 1)).toEqual([]);
    expect(text(unpack(body, 3) as Buffer[])).toEqual(['a', 'b', 'c']);
    expect(unpack(body, 2)).toBe('packed body with more than 2 frames');
    expect(unpack(body.subarray(0, body.length - 3), 10)).toBe('packed body ends inside a length');
    const overlong = Buffer.alloc(8);
    overlong.writeUInt32BE(100, 0);
    expect(unpack(overlong, 10)).toBe('packed body: a frame of 100 bytes runs past its end');
    const huge = Buffer.alloc(4);
    huge.writeUInt32BE(0xffffffff, 0);
    expect(unpack(huge, 10)).toBe(`packed body: a frame of ${0xffffffff} bytes runs past its end`);
  });
});
