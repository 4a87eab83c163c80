import type { Settle } from '../sockets/send-queue.js';
import type { ZeroMqDeadLetter } from '../../zeromq.events.js';
import { fragmentFields, FragmentWriter, recordFields, storedData, storedDelivery, type EncodedRecord } from '../protocol/wire.js';
import type { Delivery, DeliveryTrackerOptions } from './delivery.js';
import { DeliveryTracker } from './delivery-tracker.js';
import { rendezvousWinner, hashText } from './rendezvous.js';
import { submitted } from '../../../test/delivery-tracker-harness.js';

const timers = import.meta.jest;
const record = (pattern: string): EncodedRecord => ({ pattern, info: 'j', payload: '1', size: 10 });

/** A tracker over `links` whose transmits are recorded; messages are named by pattern. */
/** A key that rendezvous hashing gives to `owner` among `links`. */
const keyOwnedBy = (owner: string, links: string[]): string =>
  Array.from({ length: 50 }, (_, i) => `key-${i}`).find((candidate) => rendezvousWinner(candidate, links, hashText) === owner)!;

function tracker(links: string[], options: Partial<DeliveryTrackerOptions> = {}) {
  const sent: Array<{ link: string; pattern: string; key: string | undefined; attempt: number }> = [];
  const deadLetters: ZeroMqDeadLetter[] = [];
  const blocked: string[] = [];
  const ids = new Map<string, string>();
  const sentOn = new Map<string, string>();
  const writer = new FragmentWriter();
  const coded = (text: string) => new Error(text);
  const instance = new DeliveryTracker(links, {
    maxQueueSize: 10_000,
    maxQueueBytes: 10_000_000,
    ackTimeout: 60_000,
    maxAttempts: 3,
    retryDelay: 10,
    maxRetryDelay: 40,
    keyedPoison: 'block',
    onKeyBlocked: (delivery) => blocked.push(delivery.pattern),
    lostLinkGrace: 0,
    readPacked: (packed) => storedDelivery(fragmentFields(packed)),
    dataOf: (packed) => storedData(fragmentFields(packed)),
    place: (packed) => writer.copy(packed),
    pack: (id, packed) => writer.write(recordFields.delivery(id, 1, 3, packed)),
    repack: (packed, attempt) => writer.write(recordFields.redelivery(fragmentFields(packed), attempt, 3)),
    transmit: (link: string, delivery: Delivery, done: Settle) => {
      sent.push({ link, pattern: delivery.pattern, key: delivery.orderKey, attempt: delivery.attempt });
      ids.set(delivery.pattern, delivery.id);
      sentOn.set(delivery.pattern, link);
      done.resolve();
    },
    onDeadLetter: (letter) => deadLetters.push(letter),
    requestCredit: () => undefined,
    errors: {
      queueFull: coded,
      outboxFull: coded,
      notStored: coded,
      deadLetter: (letter) => coded(`DEAD_LETTER ${letter.pattern}: ${letter.reason}`),
      closed: coded,
    },
    ...options,
  });
  const submit = (pattern: string, key?: string, expiresAt?: number) =>
    submitted(instance, pattern, record(pattern), key, expiresAt).then(
      () => 'acked',
      (error: Error) => error.message,
    );
  const ack = (pattern: string, status: 'a' | 'f' | 'x' = 'a', reason = '') =>
    instance.settle(sentOn.get(pattern)!, ids.get(pattern)!, status, reason);
  /** An ack from `link`, which may not be where the message was sent last. */
  const ackOn = (link: string, pattern: string) => instance.settle(link, ids.get(pattern)!, 'a', '');
  return { tracker: instance, sent, deadLetters, blocked, submit, ack, ackOn };
}

describe('rendezvous hashing', () => {
  const keys = Array.from({ length: 20_000 }, (_, i) => `order-${i}`);
  const owners = (links: string[]) => keys.map((key) => rendezvousWinner(key, links, hashText));
  const links = Array.from({ length: 8 }, (_, i) => `orders@10.0.0.${i + 1}:5557`);

  it('spreads keys evenly and moves about 1/N of them when one of N links leaves or joins', () => {
    const before = owners(links);
    const share = new Map<string, number>();
    for (const owner of before) {
      share.set(owner!, (share.get(owner!) ?? 0) + 1);
    }
    for (const count of share.values()) {
      expect(Math.abs(count / keys.length - 1 / 8)).toBeLessThan(0.02);
    }
    // A link in the middle leaves: only its keys move, about 1/8.
    const after = owners(links.filter((link) => link !== links[3]));
    const moved = before.filter((owner, i) => owner !== after[i]);
    expect(moved.every((owner) => owner === links[3])).toBe(true);
    expect(Math.abs(moved.length / keys.length - 1 / 8)).toBeLessThan(0.015);
    // A ninth joins: only the keys it wins move, about 1/9.
    const joined = owners([...links, 'orders@10.0.0.9:5557']);
    const gained = before.filter((owner, i) => owner !== joined[i]).length;
    expect(joined.filter((owner, i) => owner !== before[i]).every((owner) => owner === 'orders@10.0.0.9:5557')).toBe(true);
    expect(Math.abs(gained / keys.length - 1 / 9)).toBeLessThan(0.015);
  });
});

describe('DeliveryTracker with keys', () => {
  afterEach(() => timers.useRealTimers());

  it('has one message per key in flight; the next goes once the head is acked, others keep flowing', async () => {
    const { tracker: t, sent, submit, ack } = tracker(['a', 'b']);
    t.credit('a', 100);
    t.credit('b', 100);
    for (let i = 1; i <= 3; i++) {
      void submit(`k1-${i}`, 'k1');
      void submit(`k2-${i}`, 'k2');
      void submit(`u-${i}`);
    }
    expect(sent.map(({ pattern }) => pattern).sort()).toEqual(['k1-1', 'k2-1', 'u-1', 'u-2', 'u-3']);
    expect(t.keys).toEqual({ inFlight: 2, waiting: 4 });
    ack('k1-1');
    expect(sent.at(-1)!.pattern).toBe('k1-2');
    ack('k1-2');
    ack('k1-3');
    expect(t.keys).toEqual({ inFlight: 1, waiting: 2 });
    // Every message of a key went to the same link: its owner.
    const linksOf = (key: string) => new Set(sent.filter((s) => s.key === key).map(({ link }) => link));
    expect(linksOf('k1').size).toBe(1);
    await t.drain(0);
  });

  it('a failed head is retried before its key moves on: a redelivery repeats only the head', async () => {
    timers.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    const { tracker: t, sent, submit, ack } = tracker(['a']);
    t.credit('a', 10);
    void submit('m1', 'k');
    void submit('m2', 'k');
    ack('m1', 'f', 'threw');
    timers.advanceTimersByTime(10);
    ack('m1');
    ack('m2');
    expect(sent.map(({ pattern, attempt }) => `${pattern}#${attempt}`)).toEqual(['m1#1', 'm1#2', 'm2#1']);
    await t.drain(0);
  });

  it("keyedPoison 'block': the head is retried past maxAttempts and its key waits; 'dead-letter': the key moves on", async () => {
    timers.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    const block = tracker(['a']);
    block.tracker.credit('a', 10);
    void block.submit('poison', 'k');
    void block.submit('next', 'k');
    for (let i = 0; i < 5; i++) {
      block.ack('poison', i % 2 === 0 ? 'f' : 'x', 'bad');
      timers.advanceTimersByTime(40);
    }
    expect(block.sent.map(({ pattern }) => pattern)).toEqual(Array(6).fill('poison'));
    expect(block.deadLetters).toEqual([]);
    expect(block.blocked).toEqual(['poison']);
    expect(block.tracker.keys).toEqual({ inFlight: 1, waiting: 1 });
    // Once a worker handles it, the key moves on.
    block.ack('poison');
    expect(block.sent.at(-1)!.pattern).toBe('next');
    block.ack('next');
    await block.tracker.drain(0);

    const move = tracker(['a'], { keyedPoison: 'dead-letter' });
    move.tracker.credit('a', 10);
    const poisoned = move.submit('poison', 'k');
    void move.submit('next', 'k');
    for (let i = 0; i < 3; i++) {
      move.ack('poison', 'f', 'bad');
      timers.advanceTimersByTime(40);
    }
    expect(await poisoned).toBe('DEAD_LETTER poison: bad');
    expect(move.sent.map(({ pattern }) => pattern)).toEqual(['poison', 'poison', 'poison', 'next']);
    move.ack('next');
    await move.tracker.drain(0);
  });

  it('moves only the keys of a link that goes or comes; a key in flight finishes on its old link first', async () => {
    const { tracker: t, sent, submit, ack } = tracker(['a', 'b', 'c']);
    t.credit('a', 1000);
    t.credit('b', 1000);
    const keys = Array.from({ length: 300 }, (_, i) => `key-${i}`);
    keys.forEach((key) => void submit(`${key}/1`, key));
    const first = new Map(sent.map(({ key, link }) => [key!, link]));
    // c joins while every key has its first message in flight; the second messages wait behind them.
    keys.forEach((key) => void submit(`${key}/2`, key));
    t.credit('c', 1000);
    expect(sent).toHaveLength(300);
    keys.forEach((key) => ack(`${key}/1`));
    const second = new Map(sent.slice(300).map(({ key, link }) => [key!, link]));
    const moved = keys.filter((key) => first.get(key) !== second.get(key));
    expect(moved.every((key) => second.get(key) === 'c')).toBe(true);
    expect(moved.length / keys.length).toBeGreaterThan(0.2);
    expect(moved.length / keys.length).toBeLessThan(0.47);
    await t.drain(0);
  });

  it('a head whose owner has no free credit waits without holding up the keys of other workers', async () => {
    const { tracker: t, sent, submit } = tracker(['a', 'b']);
    t.credit('a', 1);
    t.credit('b', 1);
    const keys = Array.from({ length: 50 }, (_, i) => `key-${i}`);
    keys.forEach((key) => void submit(key, key));
    expect(new Set(sent.map(({ link }) => link))).toEqual(new Set(['a', 'b']));
    await t.drain(0);
  });

  it("expiry: an expired message is not sent nor redelivered, and is dead-lettered as 'expired'", async () => {
    timers.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    const { tracker: t, sent, deadLetters, submit, ack } = tracker(['a']);
    const late = submit('late', undefined, Date.now() + 50);
    const inFlight = submit('in-flight', 'k', Date.now() + 100);
    const behind = submit('behind', 'k', Date.now() + 100);
    timers.advanceTimersByTime(60);
    t.credit('a', 10);
    expect(sent.map(({ pattern }) => pattern)).toEqual(['in-flight']);
    timers.advanceTimersByTime(40);
    // The worker refused the late delivery as expired; it is not sent again, and its key moves on.
    ack('in-flight', 'x', 'expired');
    timers.advanceTimersByTime(2_000);
    expect(await late).toBe('DEAD_LETTER late: expired');
    expect(await inFlight).toBe('DEAD_LETTER in-flight: expired');
    expect(await behind).toBe('DEAD_LETTER behind: expired');
    expect(sent).toHaveLength(1);
    expect(deadLetters.map(({ reason }) => reason)).toEqual(['expired', 'expired', 'expired']);
    expect(t.counters.expired).toBe(3);
    expect(t.keys).toEqual({ inFlight: 0, waiting: 0 });
    await t.drain(0);
  });

  it("a key's head dead-lettered at its ack timeout lets the key's next message go at once", async () => {
    timers.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    const {
      tracker: t,
      sent,
      deadLetters,
      submit,
      ack,
    } = tracker(['a'], { ackTimeout: 1_000, maxAttempts: 1, keyedPoison: 'dead-letter' });
    t.credit('a', 2);
    const head = submit('m1', 'k');
    const next = submit('m2', 'k');
    timers.advanceTimersByTime(999);
    expect(sent.map(({ pattern }) => pattern)).toEqual(['m1']);
    // The check that gives up on m1 sends m2 (to the credit m1 does not hold), without waiting for another event.
    timers.advanceTimersByTime(1);
    expect(await head).toBe('DEAD_LETTER m1: not acknowledged within 1000 ms (ackTimeout)');
    expect(deadLetters.map(({ pattern, attempts }) => [pattern, attempts])).toEqual([['m1', 1]]);
    expect(sent.map(({ pattern }) => pattern)).toEqual(['m1', 'm2']);
    ack('m2');
    expect(await next).toBe('acked');
    timers.useRealTimers();
    await t.drain(0);
  });

  it("a key's head that expires while it waits for its worker's credit lets the key's next message go when that credit frees", async () => {
    timers.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    const { tracker: t, sent, submit, ack } = tracker(['a']);
    t.credit('a', 1);
    void submit('busy');
    const head = submit('m1', 'k', Date.now() + 50);
    const next = submit('m2', 'k');
    // m1 waits for 'a''s credit and expires there, before any check of expiry runs.
    timers.advanceTimersByTime(60);
    ack('busy');
    expect(await head).toBe('DEAD_LETTER m1: expired');
    expect(sent.map(({ pattern }) => pattern)).toEqual(['busy', 'm2']);
    ack('m2');
    expect(await next).toBe('acked');
    timers.useRealTimers();
    await t.drain(0);
  });

  it('a head acked by the worker it left, after it was sent again, holds its key until the resend is answered or lost', async () => {
    const key = keyOwnedBy('a', ['a', 'b', 'c']);
    const resentAndAckedLate = (options: Partial<DeliveryTrackerOptions> = {}) => {
      const t = tracker(['a', 'b', 'c'], options);
      t.tracker.credit('a', 10);
      t.tracker.credit('b', 10);
      const head = t.submit('m1', key);
      const next = t.submit('m2', key);
      // Its worker drops before its ack is read: m1 goes to the key's new owner, 'b', as attempt 2.
      const firstLink = t.sent[0].link;
      t.tracker.linkLost(firstLink);
      expect(t.sent.map(({ link, pattern, attempt }) => `${link} ${pattern} ${attempt}`)).toEqual(['a m1 1', 'b m1 2']);
      return { ...t, head, next };
    };

    // The ack the first worker sent before it went is read now: m1 is handled (its emit resolves),
    // but 'b' runs it again: m2 must not overtake that repeat. 'b' answers (even a failure): m2 goes.
    const answered = resentAndAckedLate();
    expect(answered.ackOn('a', 'm1')).toBe(true);
    // The first worker's ack again (it answered a copy twice): still the repeat that decides.
    expect(answered.ackOn('a', 'm1')).toBe(true);
    await expect(answered.head).resolves.toBe('acked');
    expect(answered.tracker.outstanding).toBe(1);
    expect(answered.tracker.keys).toEqual({ inFlight: 1, waiting: 1 });
    expect(answered.sent.map(({ pattern }) => pattern)).toEqual(['m1', 'm1']);
    expect(answered.ack('m1', 'f', 'boom')).toBe(true);
    expect(answered.sent.map(({ link, pattern, attempt }) => `${link} ${pattern} ${attempt}`)).toEqual(['a m1 1', 'b m1 2', 'b m2 1']);
    answered.ack('m2');
    await expect(answered.next).resolves.toBe('acked');
    expect(answered.tracker.outstanding).toBe(0);
    expect(answered.tracker.counters).toMatchObject({ acked: 2, redelivered: 1, deadLettered: 0 });
    expect(answered.deadLetters).toEqual([]);

    // The repeat's worker drops too: m1 is not sent a third time, and m2 goes.
    const resends: string[] = [];
    const lost = resentAndAckedLate({ onLinkLost: (link, resent) => resends.push(`${link}: ${resent.map((d) => d.pattern).join()}`) });
    lost.ackOn('a', 'm1');
    lost.tracker.credit('c', 10);
    lost.tracker.linkLost('b');
    expect(lost.sent.map(({ pattern, attempt }) => `${pattern} ${attempt}`)).toEqual(['m1 1', 'm1 2', 'm2 1']);
    expect(resends).toEqual(['a: m1']);
    expect(lost.tracker.counters).toMatchObject({ acked: 1, redelivered: 1 });
    await lost.tracker.drain(0);
    await answered.tracker.drain(0);

    // The repeat is not acked in time: m1 is done (not dead-lettered, not sent again), and m2 goes.
    timers.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    const late = resentAndAckedLate({ ackTimeout: 1_000, maxAttempts: 2, keyedPoison: 'dead-letter' });
    late.ackOn('a', 'm1');
    timers.advanceTimersByTime(1_500);
    expect(late.sent.map(({ pattern, attempt }) => `${pattern} ${attempt}`)).toEqual(['m1 1', 'm1 2', 'm2 1']);
    expect(late.deadLetters).toEqual([]);
    timers.useRealTimers();
    await late.tracker.drain(0);

    // A close meanwhile: m1 was acked, only m2 is dropped.
    const closing = resentAndAckedLate();
    closing.ackOn('a', 'm1');
    await expect(closing.tracker.drain(0)).resolves.toBe(1);
    await expect(closing.next).resolves.toBe('m2');
  });

  it('an ack read after the message was sent again frees it at once when nothing of it runs elsewhere', async () => {
    // Unkeyed: nothing waits behind it; the repeat's credit is free at once.
    const unkeyed = tracker(['a', 'b']);
    unkeyed.tracker.credit('a', 1);
    const message = unkeyed.submit('m1');
    unkeyed.tracker.credit('b', 1);
    unkeyed.tracker.linkLost(unkeyed.sent[0].link);
    expect(unkeyed.sent.map(({ link, pattern, attempt }) => `${link} ${pattern} ${attempt}`)).toEqual(['a m1 1', 'b m1 2']);
    expect(unkeyed.ackOn('a', 'm1')).toBe(true);
    await expect(message).resolves.toBe('acked');
    expect(unkeyed.tracker.unackedOn('b')).toBe(0);
    await unkeyed.tracker.drain(0);

    // Keyed, its resend still waiting for credit: it is not sent again, and the key moves on.
    const key = keyOwnedBy('a', ['a', 'b']);
    const waiting = tracker(['a', 'b']);
    waiting.tracker.credit('a', 10);
    const head = waiting.submit('m1', key);
    void waiting.submit('m2', key);
    waiting.tracker.linkLost('a');
    expect(waiting.ackOn('a', 'm1')).toBe(true);
    await expect(head).resolves.toBe('acked');
    waiting.tracker.credit('b', 10);
    expect(waiting.sent.map(({ link, pattern, attempt }) => `${link} ${pattern} ${attempt}`)).toEqual(['a m1 1', 'b m2 1']);
    await waiting.tracker.drain(0);
  });

  it("a head waiting for the credit of a worker that drops or leaves DNS goes to its key's new owner at once", async () => {
    timers.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    const key = keyOwnedBy('a', ['a', 'b']);
    // Dropped: 'a' holds only the late credit of its timed-out head (a stalled worker), nothing in flight.
    const dropped = tracker(['a', 'b'], { ackTimeout: 1_000 });
    dropped.tracker.credit('a', 1);
    dropped.tracker.credit('b', 1);
    void dropped.submit('m1', key);
    timers.advanceTimersByTime(1_000);
    expect(dropped.sent.map(({ link, pattern }) => `${link} ${pattern}`)).toEqual(['a m1']);
    dropped.tracker.linkLost('a');
    expect(dropped.sent.map(({ link, pattern }) => `${link} ${pattern}`)).toEqual(['a m1', 'b m1']);
    timers.useRealTimers();
    await dropped.tracker.drain(0);
    // Retired: 'a' left DNS while busy with another message.
    const retired = tracker(['a', 'b']);
    retired.tracker.credit('a', 1);
    void retired.submit('busy');
    void retired.submit('m1', key);
    retired.tracker.credit('b', 1);
    expect(retired.sent.map(({ link, pattern }) => `${link} ${pattern}`)).toEqual(['a busy']);
    retired.tracker.retireLink('a');
    expect(retired.sent.map(({ link, pattern }) => `${link} ${pattern}`)).toEqual(['a busy', 'b m1']);
    await retired.tracker.drain(0);
  });
});
