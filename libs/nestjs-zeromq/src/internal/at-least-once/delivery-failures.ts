import { EXPIRED } from '../protocol/message-key.js';
import type { Delivery, DeliveryTrackerOptions } from './delivery.js';

/** What becomes of a delivery that was not acked: a dead letter (with its reason), or another attempt after a delay. */
export type FailureOutcome = { deadLetter: string } | { retryAfter: number };

/** How a delivery failed: the worker's reason, whether it refused it for good ('x'), or that no ack came in time. */
export interface Failure {
  reason: string;
  refused: boolean;
  timedOut: boolean;
}

type FailureOptions = Pick<DeliveryTrackerOptions, 'maxAttempts' | 'retryDelay' | 'maxRetryDelay' | 'keyedPoison' | 'onKeyBlocked'>;

export function isExpired(delivery: Delivery, now: number): boolean {
  return delivery.expiresAt !== undefined && delivery.expiresAt <= now;
}

/**
 * The rule for a failed delivery: an expired one (by the producer's clock, or refused as expired
 * by its worker) is dead-lettered as `'expired'`; one refused for good or past `maxAttempts` is
 * dead-lettered, unless it heads its key under `keyedPoison: 'block'` (then it blocks its key and
 * is retried, reported once); the others are retried after a doubling back-off (at once after a
 * timeout, which waited already).
 */
export function failureOutcome(delivery: Delivery, failure: Failure, now: number, options: FailureOptions): FailureOutcome {
  if (isExpired(delivery, now) || (failure.refused && failure.reason === EXPIRED)) {
    return { deadLetter: EXPIRED };
  }
  if ((failure.refused || delivery.attempt >= options.maxAttempts) && !blocksItsKey(delivery, failure.reason, options)) {
    return { deadLetter: failure.reason };
  }
  const backOff = Math.min(options.retryDelay * 2 ** Math.min(delivery.attempt - 1, 30), options.maxRetryDelay);
  return { retryAfter: failure.timedOut ? 0 : backOff };
}

function blocksItsKey(delivery: Delivery, reason: string, options: FailureOptions): boolean {
  if (delivery.orderKey === undefined || options.keyedPoison !== 'block') {
    return false;
  }
  if (delivery.blocking !== true) {
    delivery.blocking = true;
    options.onKeyBlocked?.(delivery, reason);
  }
  return true;
}
