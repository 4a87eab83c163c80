import type { ZeroMqDeadLetter } from '../../zeromq.events.js';
import type { RateLimitedLog } from './rate-limited-log.js';

/** Logs (rate-limited) a message given up on, in the same words on the client and the server. */
export function logDeadLetter(problems: RateLimitedLog, letter: ZeroMqDeadLetter): void {
  problems.warn('deadLetter', `Dead letter: "${letter.pattern}" ${letter.messageId} after ${letter.attempts} attempt(s): ${letter.reason}`);
}
