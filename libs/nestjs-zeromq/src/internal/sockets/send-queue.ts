import { settlesWithin } from '../util/deadline.js';
import { Deque } from '../util/deque.js';
import type { ZeroMqOverflowPolicy } from '../../zeromq.options.js';
import type { ZeroMqSendErrorCode } from '../../zeromq.errors.js';
import { hasRoomFor } from '../util/queue-room.js';

export interface SendQueueOptions<T> {
  maxQueueSize: number;
  /** Most bytes (`sizeOf`) waiting; an item that fits nothing else still enters an empty queue. */
  maxQueueBytes: number;
  overflow: ZeroMqOverflowPolicy;
  maxBatchSize: number;
  maxBatchBytes: number;
  /** Age in ms after which a queued item fails once a send has timed out. */
  sendTimeout: number;
  /** Hands one batch to the socket; resolves when ZeroMQ has taken it. */
  transmit: (batch: T[]) => Promise<void>;
  /** Size of an item in bytes, for `maxBatchBytes`. */
  sizeOf: (item: T) => number;
  /** Items batch together only while this is the same value (`===`: the peer a reply goes to, a slab). */
  batchKey?: (item: T) => unknown;
  /** Builds the error an item's promise rejects with. */
  toError: (item: T, code: ZeroMqSendErrorCode, detail: string, cause?: unknown) => Error;
  /** What was seen of the peers, for the error of a send none took within `sendTimeout`. */
  describePeers?: () => string;
}

/** A `transmit` failure the queue reports with this code and detail (not as `SEND_FAILED`). */
export class SendRefused extends Error {
  constructor(
    readonly code: ZeroMqSendErrorCode,
    readonly detail: string,
  ) {
    super(detail);
  }
}

/** Told how an item's send ended: the emit's own result object, or a promise's callbacks. */
export interface Settle {
  resolve(): void;
  reject(error: Error): void;
}

interface Entry<T> {
  item: T;
  enqueuedAt: number;
  done: Settle;
}

/**
 * The one writer of a socket. zeromq.js allows a single pending send per socket (a second one
 * throws EBUSY), so every send goes through this queue. While a send is pending, new items wait;
 * when it completes, everything waiting (up to the batch limits) leaves in one ZeroMQ message.
 *
 * An idle queue sends on the next turn of the event loop (`setImmediate`), not on the next
 * microtask: whatever the current turn queues (a burst of emits, or the emits that callers make
 * when a previous batch completes, several promise hops later) leaves together. A lone item still
 * goes out within the same turn's check phase: batching adds microseconds, not a timer's delay.
 */
export class SendQueue<T> {
  private readonly entries = new Deque<Entry<T>>();
  private inFlight = 0;
  private queuedBytes = 0;
  private pumping = false;
  private closed = false;
  private idleWaiters: Array<() => void> = [];

  constructor(private readonly options: SendQueueOptions<T>) {}

  /** Items waiting, not counting the batch being sent. */
  get length(): number {
    return this.entries.length;
  }

  /** Items handed to ZeroMQ by the pending send. */
  get sending(): number {
    return this.inFlight;
  }

  /** Queues an item; resolves once ZeroMQ has taken it, rejects with `toError(...)` otherwise. */
  enqueue(item: T): Promise<void> {
    return new Promise<void>((resolve, reject) => this.push(item, { resolve, reject }));
  }

  /** Queues an item and tells `done` how its send ended; the promise-free form of `enqueue`. */
  push(item: T, done: Settle): void {
    if (this.closed) {
      done.reject(this.options.toError(item, 'CLOSED', 'closed'));
      return;
    }
    const size = this.options.sizeOf(item);
    const full = () => !hasRoomFor(this.options, this.length, this.queuedBytes, size);
    if (full()) {
      const detail =
        this.length >= this.options.maxQueueSize
          ? `${this.options.maxQueueSize} messages are already queued (maxQueueSize)`
          : `${this.queuedBytes} bytes are already queued (maxQueueBytes ${this.options.maxQueueBytes})`;
      if (this.options.overflow === 'reject') {
        done.reject(this.options.toError(item, 'QUEUE_FULL', detail));
        return;
      }
      while (full()) {
        this.fail(this.take()!, 'DROPPED', `${detail}; dropped the oldest to make room (overflow: 'drop-oldest')`);
      }
    }
    this.entries.push({ item, enqueuedAt: Date.now(), done });
    this.queuedBytes += size;
    if (!this.pumping) {
      this.pumping = true;
      setImmediate(() => void this.pump());
    }
  }

  /**
   * Stops taking items and waits up to `timeout` ms for the queue to empty. Items still queued
   * then fail with `CLOSED`; returns how many items did not reach ZeroMQ (queued + in the pending
   * send, which fails when the caller closes the socket).
   */
  async drain(timeout: number): Promise<number> {
    this.closed = true;
    if (this.pumping) {
      await settlesWithin(new Promise<void>((resolve) => this.idleWaiters.push(resolve)), timeout);
    }
    const dropped = this.length + this.inFlight;
    this.failAll('CLOSED', 'closed before it could be sent');
    return dropped;
  }

  private async pump(): Promise<void> {
    while (this.length > 0) {
      const batch = this.takeBatch();
      this.inFlight = batch.length;
      try {
        await this.options.transmit(batch.map((entry) => entry.item));
        for (const entry of batch) {
          entry.done.resolve();
        }
      } catch (error) {
        this.failBatch(batch, error);
      } finally {
        this.inFlight = 0;
      }
    }
    this.pumping = false;
    for (const resolve of this.idleWaiters.splice(0)) {
      resolve();
    }
  }

  private failBatch(batch: Entry<T>[], error: unknown): void {
    const code = (error as { code?: string } | null)?.code;
    if (this.closed) {
      for (const entry of batch) {
        this.fail(entry, 'CLOSED', 'closed before it could be sent', error);
      }
      return;
    }
    if (error instanceof SendRefused && error.code !== 'SEND_TIMEOUT') {
      for (const entry of batch) {
        this.fail(entry, error.code, error.detail);
      }
      return;
    }
    if (code === 'EAGAIN' || error instanceof SendRefused) {
      const seen = this.options.describePeers?.() ?? 'no peer connected, or all at their high-water mark';
      const detail = `no peer accepted it within ${this.options.sendTimeout} ms (sendTimeout): ${seen}`;
      for (const entry of batch) {
        this.fail(entry, 'SEND_TIMEOUT', detail, error);
      }
      this.expireOlderThan(Date.now() - this.options.sendTimeout, detail);
      return;
    }
    const message = error instanceof Error ? error.message : String(error);
    for (const entry of batch) {
      this.fail(entry, 'SEND_FAILED', message, error);
    }
  }

  private takeBatch(): Entry<T>[] {
    const batch: Entry<T>[] = [];
    const { batchKey } = this.options;
    const key = batchKey?.(this.entries.peek()!.item);
    let bytes = 0;
    while (this.length > 0 && batch.length < this.options.maxBatchSize) {
      const next = this.entries.peek()!;
      const size = this.options.sizeOf(next.item);
      if (batch.length > 0 && (bytes + size > this.options.maxBatchBytes || batchKey?.(next.item) !== key)) {
        break;
      }
      bytes += size;
      batch.push(this.take()!);
    }
    return batch;
  }

  private expireOlderThan(cutoff: number, detail: string): void {
    while (this.length > 0 && this.entries.peek()!.enqueuedAt <= cutoff) {
      this.fail(this.take()!, 'SEND_TIMEOUT', detail);
    }
  }

  private failAll(code: ZeroMqSendErrorCode, detail: string): void {
    this.queuedBytes = 0;
    for (const entry of this.entries.clear()) {
      this.fail(entry, code, detail);
    }
  }

  /** Removes the oldest waiting entry, keeping the byte count right. */
  private take(): Entry<T> | undefined {
    const entry = this.entries.shift();
    if (entry !== undefined) {
      this.queuedBytes -= this.options.sizeOf(entry.item);
    }
    return entry;
  }

  private fail(entry: Entry<T>, code: ZeroMqSendErrorCode, detail: string, cause?: unknown): void {
    entry.done.reject(this.options.toError(entry.item, code, detail, cause));
  }
}
