import { ZeroMqRequestError, ZeroMqSendError } from '../../zeromq.errors.js';
import { MAX_KEY_LENGTH } from '../protocol/wire.js';
import type { OutgoingError } from './outbox.js';
import type { SendOutcomes } from './send-outcomes.js';

/**
 * Which error each way a ZeroMqClient's emits and requests fail takes; the adapter only says when.
 * Emits fail with a ZeroMqSendError, requests with a ZeroMqRequestError.
 */
export const clientErrors = {
  /** A request without its complete answer in time (PendingRequests). */
  requestTimedOut: (pattern: string, link: string, timeout: number) =>
    new ZeroMqRequestError('TIMEOUT', pattern, link, `no complete answer within ${timeout} ms (requestTimeout, or the record's timeout)`),

  /** A request still waiting on a socket whose server is gone. */
  serverLost: (pattern: string, link: string, detail: string) => new ZeroMqRequestError('PEER_LOST', pattern, link, detail),

  /** A request still waiting when the client closes. */
  closedBeforeReply: (pattern: string, link: string) =>
    new ZeroMqRequestError('CLOSED', pattern, link, 'the client closed before the last reply'),

  /**
   * What an item of the outbox of socket `name` fails with. A delivery or hello that did not go out
   * is not an emit that failed (not counted or reported): the at-least-once tracker sends the
   * delivery elsewhere (or dead-letters it), and greets the worker again.
   */
  outgoing:
    (outcomes: SendOutcomes, name: string, endpoints: string[]): OutgoingError =>
    (item, code, detail, cause) =>
      item.kind === 'deliveries' || item.kind === 'hello'
        ? new ZeroMqSendError(code, item.pattern, name, endpoints, detail, { cause })
        : outcomes.failure(item.kind === 'requests' ? 'request' : 'event', item.pattern, name, code, detail, cause, endpoints),
};

/** The key a route's `key` function gives a payload; throws a clear error for a key that is not 1 to 256 characters of text. */
export function keyFrom(
  keyOf: ((data: unknown, pattern: string) => string | undefined) | undefined,
  data: unknown,
  pattern: string,
): string | undefined {
  const key = keyOf?.(data, pattern);
  if (key !== undefined && !(typeof key === 'string' && key.length > 0 && key.length <= MAX_KEY_LENGTH)) {
    throw new ZeroMqSendError(
      'SEND_FAILED',
      pattern,
      '-',
      [],
      `the key option gave ${typeof key === 'string' ? `a key of ${key.length} characters` : typeof key}; a key is a string of 1 to ${MAX_KEY_LENGTH} characters`,
    );
  }
  return key;
}
