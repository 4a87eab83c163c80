import type { WritePacket } from '@nestjs/microservices';

type ReplyCallback = (packet: WritePacket) => void;

interface PendingRequest {
  pattern: string;
  link: string;
  /** Its place in the order requests were opened (see `mark`). */
  sequence: number;
  callback: ReplyCallback;
  timer: NodeJS.Timeout | undefined;
}

/**
 * The client's requests waiting for replies, by id: delivers replies to Nest's observer callback,
 * and fails a request on timeout, when the server it went to is lost, or on close. An entry is
 * removed with its last reply, its failure, or its subscriber's unsubscribe.
 */
export class PendingRequests {
  private readonly entries = new Map<string, PendingRequest>();
  private readonly perLink = new Map<string, number>();
  private sequence = 0;

  constructor(private readonly onTimeout: (pattern: string, link: string, timeout: number) => Error) {}

  get size(): number {
    return this.entries.size;
  }

  /** The last request opened so far: `failLink(link, toError, mark)` fails only requests up to it. */
  get mark(): number {
    return this.sequence;
  }

  /** Requests waiting on `link`. */
  countOn(link: string): number {
    return this.perLink.get(link) ?? 0;
  }

  /** Registers a request and returns its id; `timeout` 0 means no timeout. */
  open(pattern: string, link: string, callback: ReplyCallback, timeout: number): string {
    const sequence = ++this.sequence;
    const id = sequence.toString(36);
    const timer = timeout > 0 ? setTimeout(() => this.fail(id, this.onTimeout(pattern, link, timeout)), timeout) : undefined;
    this.entries.set(id, { pattern, link, sequence, callback, timer });
    this.perLink.set(link, this.countOn(link) + 1);
    return id;
  }

  /** Hands a reply to its request; false if no request waits for it (late or unknown). */
  deliver(id: string, packet: WritePacket): boolean {
    const entry = this.entries.get(id);
    if (entry === undefined) {
      return false;
    }
    if (packet.isDisposed || packet.err !== undefined) {
      this.remove(id, entry);
    }
    entry.callback(packet);
    return true;
  }

  fail(id: string, error: Error): void {
    const entry = this.entries.get(id);
    if (entry !== undefined) {
      this.remove(id, entry);
      entry.callback({ err: error, isDisposed: true });
    }
  }

  /** Fails every request waiting on `link` with the error `toError` builds for it. */
  failLink(link: string, toError: (pattern: string) => Error, upTo = Infinity): number {
    let failed = 0;
    for (const [id, entry] of this.entries) {
      if (entry.link === link && entry.sequence <= upTo) {
        this.fail(id, toError(entry.pattern));
        failed++;
      }
    }
    return failed;
  }

  failAll(toError: (pattern: string, link: string) => Error): number {
    const ids = [...this.entries.keys()];
    for (const id of ids) {
      const entry = this.entries.get(id)!;
      this.fail(id, toError(entry.pattern, entry.link));
    }
    return ids.length;
  }

  /** The subscriber went away: forget the request; a late reply is then ignored. */
  cancel(id: string): void {
    const entry = this.entries.get(id);
    if (entry !== undefined) {
      this.remove(id, entry);
    }
  }

  private remove(id: string, entry: PendingRequest): void {
    clearTimeout(entry.timer);
    this.entries.delete(id);
    this.perLink.set(entry.link, this.countOn(entry.link) - 1);
  }
}
