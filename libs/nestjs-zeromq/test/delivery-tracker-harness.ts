/** The DeliveryTracker unit specs' tracker: links a and b, transmits recorded, emits named by pattern. */
import type { Settle } from '../src/internal/sockets/send-queue.js';
import type { ZeroMqDeadLetter } from '../src/zeromq.events.js';
import {
  fragmentFields,
  FragmentWriter,
  recordFields,
  storedData,
  storedDelivery,
  type EncodedRecord,
} from '../src/internal/protocol/wire.js';
import type { Delivery, DeliveryTrackerOptions } from '../src/internal/at-least-once/delivery.js';
import { DeliveryTracker } from '../src/internal/at-least-once/delivery-tracker.js';

type Coded = Error & { code: string };
const coded = (code: string, pattern: string): Coded => Object.assign(new Error(`${code}: ${pattern}`), { code });

/** A message's record: its data `{ of: pattern }` (what its dead letter decodes). */
const record = (pattern: string, size = 10): EncodedRecord => ({ pattern, info: 'j', payload: JSON.stringify({ of: pattern }), size });

/** A tracker's `submit` as a promise: resolves once the message is acked (or stored), rejects with why it failed. */
export function submitted(
  tracker: DeliveryTracker,
  pattern: string,
  record: EncodedRecord,
  orderKey?: string,
  expiresAt?: number,
): Promise<void> {
  return new Promise((resolve, reject) => tracker.submit(pattern, record, { resolve, reject }, orderKey, expiresAt));
}

/** A tracker over links a and b whose transmits are recorded, and succeed unless a link is made to refuse. */
export function tracker(options: Partial<DeliveryTrackerOptions> = {}) {
  const sent: Array<[link: string, pattern: string, attempt: number]> = [];
  const deadLetters: ZeroMqDeadLetter[] = [];
  const creditRequests: string[] = [];
  const refusing = new Set<string>();
  const ids = new Map<string, string>();
  /** The link each pattern was last sent on. */
  const links = new Map<string, string>();
  /** The attempt field of each transmitted delivery's packed record. */
  const packedAttempts: string[] = [];
  const writer = new FragmentWriter();
  const instance = new DeliveryTracker(['a', 'b'], {
    maxQueueSize: 100,
    maxQueueBytes: 10_000,
    ackTimeout: 60_000,
    maxAttempts: 5,
    retryDelay: 100,
    maxRetryDelay: 10_000,
    keyedPoison: 'block',
    lostLinkGrace: 0,
    readPacked: (packed) => storedDelivery(fragmentFields(packed)),
    dataOf: (packed) => storedData(fragmentFields(packed)),
    place: (packed) => writer.copy(packed),
    pack: (id, packed) => writer.write(recordFields.delivery(id, 1, 5, packed)),
    repack: (packed, attempt) => writer.write(recordFields.redelivery(fragmentFields(packed), attempt, 5)),
    transmit: (link: string, delivery: Delivery, done: Settle) => {
      sent.push([link, delivery.pattern, delivery.attempt]);
      packedAttempts.push(fragmentFields(delivery.packed)[1].toString());
      ids.set(delivery.pattern, delivery.id);
      links.set(delivery.pattern, link);
      if (refusing.has(link)) {
        done.reject(new Error('EAGAIN'));
      } else {
        done.resolve();
      }
    },
    onDeadLetter: (letter) => deadLetters.push(letter),
    requestCredit: (link) => creditRequests.push(link),
    errors: {
      queueFull: (pattern) => coded('QUEUE_FULL', pattern),
      outboxFull: (pattern) => coded('OUTBOX_FULL', pattern),
      notStored: (pattern, cause) => coded('NOT_STORED', `${pattern}: ${cause.message}`),
      deadLetter: (letter) => coded('DEAD_LETTER', `${letter.pattern} after ${letter.attempts}: ${letter.reason}`),
      closed: (pattern) => coded('CLOSED', pattern),
    },
    ...options,
  });
  /** Submits a message by pattern; its outcome is 'acked' or the rejection's message. */
  const submit = (pattern: string, size?: number) =>
    submitted(instance, pattern, record(pattern, size)).then(
      () => 'acked',
      (error: Coded) => error.message,
    );
  const idOf = (pattern: string) => ids.get(pattern)!;
  const linkOf = (pattern: string) => links.get(pattern)!;
  return { tracker: instance, sent, packedAttempts, deadLetters, creditRequests, refusing, submit, idOf, linkOf };
}

/** Lets rejected transmits run their catch handlers. */
export const flush = () => new Promise((resolve) => setImmediate(resolve));
