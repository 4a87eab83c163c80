import { statfsSync } from 'node:fs';

/** Bytes of its disk the outbox never fills: room for LMDB to commit removals and acks. */
export const DISK_RESERVE_BYTES = 16 * 1024 * 1024;
/** How often, at most, free space is asked of the filesystem (and after this many bytes written). */
const CHECK_INTERVAL_MS = 100;
const CHECK_AFTER_BYTES = 1024 * 1024;

/**
 * The free space of the disk under an outbox, checked before each write. LMDB must never meet a
 * full disk: lmdb-js 3.5 reports ENOSPC as an I/O error at best, and under concurrent writes its
 * native writer was seen to abort the process (malloc corruption). So the outbox refuses new
 * messages while less than DISK_RESERVE_BYTES would stay free, and the reserve leaves room for
 * the acks' removals that make space again. A volume shared with other writers can still fill
 * under it: keep the outbox on a volume of its own (docs/delivery.md).
 */
export class DiskSpace {
  private free = Number.POSITIVE_INFINITY;
  private checkedAt = 0;
  private writtenSince = 0;

  constructor(
    private readonly path: string,
    private readonly reserve = DISK_RESERVE_BYTES,
  ) {}

  /** Claims room for a write of `bytes`; throws, naming the disk, when there is not enough. */
  claim(bytes: number): void {
    const now = Date.now();
    if (now - this.checkedAt >= CHECK_INTERVAL_MS || this.writtenSince >= CHECK_AFTER_BYTES) {
      const stats = statfsSync(this.path);
      this.free = stats.bavail * stats.bsize;
      this.checkedAt = now;
      this.writtenSince = 0;
    }
    // LMDB copies the pages it changes: a write takes up to about twice its size until the old
    // pages are reused.
    const left = this.free - 2 * (this.writtenSince + bytes);
    if (left < this.reserve) {
      throw new Error(
        `no space left on the disk holding ${this.path}: ${Math.max(0, this.free - 2 * this.writtenSince)} bytes free, and the outbox keeps ${this.reserve} bytes free for its own commits`,
      );
    }
    this.writtenSince += bytes;
  }
}
