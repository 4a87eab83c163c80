import { ZeroMqRequestError, ZeroMqSendError, type ZeroMqSendErrorCode } from '../../zeromq.errors.js';
import type { Settle } from '../sockets/send-queue.js';
import type { Counters } from '../util/counters.js';
import type { Listeners } from '../util/listeners.js';
import type { RateLimitedLog } from '../util/rate-limited-log.js';

/** The client's own counters: emits and requests that went out or failed. */
export const SEND_COUNTERS = ['sent', 'failed', 'requests', 'requestsFailed'] as const;
export type SendCounter = (typeof SEND_COUNTERS)[number];

/**
 * How a ZeroMqClient's emits and requests end: counted, and a failure logged and emitted as an
 * `error` event as well, since Nest drops an emit's error when nobody subscribed to it.
 */
export class SendOutcomes {
  constructor(
    readonly counters: Counters<SendCounter>,
    private readonly problems: RateLimitedLog,
    private readonly listeners: Listeners,
  ) {}

  /** The error an emit (`'event'`) or request fails with, counted and reported. */
  failure(
    role: 'event' | 'request',
    pattern: string,
    socket: string,
    code: ZeroMqSendErrorCode,
    detail: string,
    cause?: unknown,
    endpoints: string[] = [],
  ): Error {
    const error =
      role === 'request'
        ? new ZeroMqRequestError(code, pattern, socket, detail, { cause })
        : new ZeroMqSendError(code, pattern, socket, endpoints, detail, { cause });
    this.counters.add(role === 'request' ? 'requestsFailed' : 'failed');
    this.report(error);
    return error;
  }

  /**
   * What an at-least-once emit hands its tracker to be told how it ended: counted as sent once
   * acked (or stored), counted and reported if it failed, then passed on to the emit's `done`.
   */
  trackedEmit(done: Settle): Settle {
    return new TrackedEmit(this, done);
  }

  /** An emit failed with an error made elsewhere (routing, the at-least-once tracker): counted and reported. */
  emitFailed(error: unknown): Error {
    this.counters.add('failed');
    this.report(error);
    return error as Error;
  }

  private report(error: unknown): void {
    this.problems.error('send', (error as Error).message);
    this.listeners.emit('error', error);
  }
}

/** An at-least-once emit's outcome, told once (a write that fails after the ack does not count it twice). */
class TrackedEmit implements Settle {
  private told = false;

  constructor(
    private readonly outcomes: SendOutcomes,
    private readonly done: Settle,
  ) {}

  resolve(): void {
    if (!this.told) {
      this.told = true;
      this.outcomes.counters.add('sent');
      this.done.resolve();
    }
  }

  reject(error: Error): void {
    if (!this.told) {
      this.told = true;
      this.done.reject(this.outcomes.emitFailed(error));
    }
  }
}
