/**
 * The bytes a socket holds in records it has read and not finished (waiting or running), against
 * its receive budget. The read loop reads the next message only while one more message of the
 * largest size (`headroom`, the socket's `maxMessageSize`) still fits; otherwise it stops reading
 * until records finish, so that ZeroMQ's queue fills and the producers' high-water mark pushes
 * back. With nothing held it always reads: a message larger than the budget goes through alone.
 */
export class ReceiveBudget {
  /** Bytes held now. */
  held = 0;
  /** Times the read loop stopped because the budget was full. */
  pauses = 0;
  /** Messages larger than the budget (read alone, with nothing else held). */
  oversized = 0;

  /**
   * @param limit the budget in bytes
   * @param headroom the largest message expected (bytes; at most `limit`): read only while it fits
   */
  constructor(
    readonly limit: number,
    private readonly headroom: number,
  ) {}

  /** Whether the read loop may read the next message now. */
  get hasRoom(): boolean {
    return this.held === 0 || this.held + this.headroom <= this.limit;
  }

  /** Counts a message that was just read: `bytes` of it will be held. */
  read(bytes: number): void {
    if (bytes > this.limit) {
      this.oversized++;
    }
  }

  take(bytes: number): void {
    this.held += bytes;
  }

  release(bytes: number): void {
    this.held -= bytes;
  }
}
