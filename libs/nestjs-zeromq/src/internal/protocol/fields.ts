/**
 * The fields of a received message, read in place: the frames of a multipart message, or the
 * ranges of a packed body. Decoding reads text and bytes through this, so a packed batch costs no
 * Buffer object per field.
 */
export interface Fields {
  readonly count: number;
  length(index: number): number;
  /** The first byte of a field (the caller checked that it has one). */
  firstByte(index: number): number;
  text(index: number, encoding: 'utf8' | 'latin1', skip?: number): string;
  bytes(index: number): Buffer;
}

export class FrameFields implements Fields {
  readonly count: number;

  constructor(
    private readonly frames: Buffer[],
    private readonly start: number,
  ) {
    this.count = frames.length - start;
  }

  length(index: number): number {
    return this.frames[this.start + index].length;
  }

  firstByte(index: number): number {
    return this.frames[this.start + index][0];
  }

  text(index: number, encoding: 'utf8' | 'latin1', skip = 0): string {
    return this.frames[this.start + index].toString(encoding, skip);
  }

  bytes(index: number): Buffer {
    return this.frames[this.start + index];
  }
}

export class PackedFields implements Fields {
  readonly count: number;

  constructor(
    private readonly body: Buffer,
    /** `[start, end]` per field (packedBounds). */
    private readonly bounds: Uint32Array,
  ) {
    this.count = bounds.length / 2;
  }

  length(index: number): number {
    return this.bounds[index * 2 + 1] - this.bounds[index * 2];
  }

  firstByte(index: number): number {
    return this.body[this.bounds[index * 2]];
  }

  text(index: number, encoding: 'utf8' | 'latin1', skip = 0): string {
    return this.body.toString(encoding, this.bounds[index * 2] + skip, this.bounds[index * 2 + 1]);
  }

  bytes(index: number): Buffer {
    return this.body.subarray(this.bounds[index * 2], this.bounds[index * 2 + 1]);
  }
}
