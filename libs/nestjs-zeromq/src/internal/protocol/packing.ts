import type { Frame } from './records.js';

/**
 * The packed form of a message (docs/protocol.md, "Packed messages"): every frame after the
 * header as a 4-byte big-endian length and its bytes, in one body frame. ZeroMQ libraries pay
 * per message part (zeromq.js makes a native call and a Buffer per part), so batches travel
 * packed.
 */
const LENGTH_BYTES = 4;
/** Bytes a slab holds: many small records share one allocation; a larger record gets its own. */
const SLAB_BYTES = 1 << 20;
/** UTF-8 takes at most 3 bytes per UTF-16 code unit (a surrogate pair: 4 bytes for 2 units). */
const MAX_UTF8_BYTES_PER_UNIT = 3;

/** The packed bytes of one record: a range of a slab. */
export interface Fragment {
  readonly slab: Buffer;
  readonly start: number;
  readonly end: number;
}

/**
 * Writes records in packed form as they are made, into large slabs, so that the strings and
 * objects of a record die young (a queue of pending records holds bytes, not garbage the
 * collector must copy) and consecutive records lie next to each other: a batch of them is one
 * `subarray`, which zeromq.js sends without copying.
 */
export class FragmentWriter {
  private slab = Buffer.allocUnsafe(0);
  private used = 0;

  /**
   * @param slabBytes Bytes of each slab. A slab stays allocated while any fragment of it (or a
   * view of one) lives, so a writer whose fragments may be held long uses small ones.
   */
  constructor(private readonly slabBytes = SLAB_BYTES) {}

  /** Copies bytes already packed (a stored record) into the current slab, next to the records before it. */
  copy(packed: Uint8Array): Fragment {
    if (this.slab.length - this.used < packed.byteLength) {
      this.slab = Buffer.allocUnsafe(Math.max(this.slabBytes, packed.byteLength));
      this.used = 0;
    }
    const start = this.used;
    this.slab.set(packed, start);
    this.used += packed.byteLength;
    return { slab: this.slab, start, end: this.used };
  }

  /**
   * Packs `fields`: text as UTF-8, except the first `latin1Fields` texts, which are bytes read as
   * latin1 (an id received from a peer: written back as the very bytes that came).
   */
  write(fields: readonly Frame[], latin1Fields = 0): Fragment {
    let bound = 0;
    for (const field of fields) {
      bound += LENGTH_BYTES + (typeof field === 'string' ? field.length * MAX_UTF8_BYTES_PER_UNIT : field.byteLength);
    }
    if (this.slab.length - this.used < bound) {
      // A record that may not fit a slab gets one of its exact size (the bound can be 3× that).
      this.slab = Buffer.allocUnsafe(bound > this.slabBytes ? Math.max(this.slabBytes, exactBytes(fields)) : this.slabBytes);
      this.used = 0;
    }
    const { slab } = this;
    const start = this.used;
    let offset = start;
    for (let i = 0; i < fields.length; i++) {
      const field = fields[i];
      let length: number;
      if (typeof field === 'string') {
        length = slab.write(field, offset + LENGTH_BYTES, i < latin1Fields ? 'latin1' : 'utf8');
      } else {
        length = field.byteLength;
        slab.set(field, offset + LENGTH_BYTES);
      }
      slab.writeUInt32BE(length, offset);
      offset += LENGTH_BYTES + length;
    }
    this.used = offset;
    return { slab, start, end: offset };
  }
}

/** The packed size of `fields`: their lengths and their bytes (text as UTF-8). */
function exactBytes(fields: readonly Frame[]): number {
  let bytes = 0;
  for (const field of fields) {
    bytes += LENGTH_BYTES + (typeof field === 'string' ? Buffer.byteLength(field, 'utf8') : field.byteLength);
  }
  return bytes;
}

/** The body of a batch: one view when its fragments are adjacent (the usual case), else a copy. */
export function joinFragments(fragments: readonly Fragment[]): Buffer {
  const first = fragments[0];
  let end = first.end;
  for (let i = 1; i < fragments.length; i++) {
    const fragment = fragments[i];
    if (fragment.slab !== first.slab || fragment.start !== end) {
      return Buffer.concat(fragments.map(({ slab, start, end: stop }) => slab.subarray(start, stop)));
    }
    end = fragment.end;
  }
  return first.slab.subarray(first.start, end);
}

/** The fields of one fragment as frames (views into its slab): a lone record travels unpacked. */
export function fragmentFields(fragment: Fragment): Buffer[] {
  const fields: Buffer[] = [];
  const { slab } = fragment;
  for (let offset = fragment.start; offset < fragment.end;) {
    const start = offset + LENGTH_BYTES;
    const end = start + slab.readUInt32BE(offset);
    fields.push(slab.subarray(start, end));
    offset = end;
  }
  return fields;
}

/** Where packedBounds writes: one array grown as needed, reused by every call. */
let boundsScratch = new Uint32Array(1024);

/**
 * Where the frames of a packed body lie: `[start, end]` byte offsets, two numbers per frame (no
 * Buffer per frame: a batch of small records would make hundreds), or why it is not a valid body.
 * The offsets are a view of memory the next call overwrites (no array per message): a decoder
 * reads them before it decodes another message, and nothing keeps them.
 */
export function packedBounds(body: Buffer, maxFrames: number): Uint32Array | string {
  let count = 0;
  let offset = 0;
  while (offset < body.length) {
    if (count >= maxFrames * 2) {
      return `packed body with more than ${maxFrames} frames`;
    }
    if (offset + LENGTH_BYTES > body.length) {
      return 'packed body ends inside a length';
    }
    const length = body.readUInt32BE(offset);
    const start = offset + LENGTH_BYTES;
    if (length > body.length - start) {
      return `packed body: a frame of ${length} bytes runs past its end`;
    }
    if (count + 2 > boundsScratch.length) {
      const grown = new Uint32Array(boundsScratch.length * 2);
      grown.set(boundsScratch);
      boundsScratch = grown;
    }
    boundsScratch[count++] = start;
    boundsScratch[count++] = start + length;
    offset = start + length;
  }
  return boundsScratch.subarray(0, count);
}
