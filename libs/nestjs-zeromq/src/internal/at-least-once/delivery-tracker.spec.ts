import { flush, tracker } from '../../../test/delivery-tracker-harness.js';

const timers = import.meta.jest;

describe('DeliveryTracker', () => {
  afterEach(() => timers.useRealTimers());

  it('sends nothing before a worker announces credit, then at most its window', async () => {
    const { tracker: t, sent, submit } = tracker();
    void submit('m1');
    void submit('m2');
    void submit('m3');
    expect(sent).toEqual([]);
    t.credit('a', 2);
    expect(sent).toEqual([
      ['a', 'm1', 1],
      ['a', 'm2', 1],
    ]);
    expect(t.outstanding).toBe(3);
    t.credit('unknown-link', 5);
    expect(sent).toHaveLength(2);
    await t.drain(0);
  });

  it('sends each message to the link with the most free credit (the first listed on a tie)', async () => {
    const { tracker: t, sent, submit } = tracker();
    t.credit('a', 1);
    t.credit('b', 3);
    ['m1', 'm2', 'm3', 'm4'].forEach((pattern) => void submit(pattern));
    expect(sent.map(([link]) => link)).toEqual(['b', 'b', 'a', 'b']);
    await t.drain(0);
  });

  it('settles on an ack: the emit resolves and the freed credit takes the next message', async () => {
    const { tracker: t, sent, submit, idOf, linkOf } = tracker();
    t.credit('a', 1);
    const first = submit('m1');
    void submit('m2');
    expect(sent).toEqual([['a', 'm1', 1]]);
    expect(t.settle(linkOf('m1'), idOf('m1'), 'a', '')).toBe(true);
    expect(await first).toBe('acked');
    expect(sent).toEqual([
      ['a', 'm1', 1],
      ['a', 'm2', 1],
    ]);
    expect(t.counters).toEqual({ acked: 1, redelivered: 0, deadLettered: 0, replayed: 0, expired: 0 });
    expect(t.outstanding).toBe(1);
    // An ack that comes again, or for an id never sent, settles nothing.
    expect(t.settle(linkOf('m1'), idOf('m1'), 'a', '')).toBe(false);
    expect(t.settle('a', `${t.producerId}.zz`, 'a', '')).toBe(false);
    expect(idOf('m1').startsWith(`${t.producerId}.`)).toBe(true);
    expect(idOf('m2')).not.toBe(idOf('m1'));
    await t.drain(0);
  });

  it("retries an 'f' after a doubling back-off capped at maxRetryDelay, then dead-letters at maxAttempts", async () => {
    timers.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    const {
      tracker: t,
      sent,
      packedAttempts,
      deadLetters,
      submit,
      idOf,
      linkOf,
    } = tracker({ retryDelay: 100, maxRetryDelay: 250, maxAttempts: 4 });
    t.credit('a', 5);
    const outcome = submit('m1');
    const attempts = () => sent.map(([, , attempt]) => attempt);
    for (const [delay, attempt] of [
      [100, 2],
      [200, 3],
      [250, 4],
    ]) {
      expect(t.settle(linkOf('m1'), idOf('m1'), 'f', 'handler threw')).toBe(true);
      timers.advanceTimersByTime(delay - 1);
      expect(attempts()).toEqual(Array.from({ length: attempt - 1 }, (_, i) => i + 1));
      timers.advanceTimersByTime(1);
      expect(attempts().at(-1)).toBe(attempt);
    }
    expect(t.counters.redelivered).toBe(3);
    // Each redelivery is packed again with its own attempt number.
    expect(packedAttempts).toEqual(['1/5', '2/5', '3/5', '4/5']);
    expect(t.settle(linkOf('m1'), idOf('m1'), 'f', 'handler threw again')).toBe(true);
    expect(deadLetters).toEqual([{ pattern: 'm1', messageId: idOf('m1'), attempts: 4, reason: 'handler threw again', data: { of: 'm1' } }]);
    expect(await outcome).toBe('DEAD_LETTER: m1 after 4: handler threw again');
    expect(t.counters).toEqual({ acked: 0, redelivered: 3, deadLettered: 1, replayed: 0, expired: 0 });
    expect(t.outstanding).toBe(0);
    timers.advanceTimersByTime(10_000);
    expect(sent).toHaveLength(4);
    expect(await t.drain(0)).toBe(0);
  });

  it("dead-letters an 'x' at once, whatever attempts are left", async () => {
    const { tracker: t, sent, deadLetters, submit, idOf, linkOf } = tracker({ maxAttempts: 5 });
    t.credit('b', 1);
    const outcome = submit('m1');
    const next = submit('m2');
    t.settle(linkOf('m1'), idOf('m1'), 'x', 'no handler for pattern "m1"');
    expect(await outcome).toBe('DEAD_LETTER: m1 after 1: no handler for pattern "m1"');
    expect(deadLetters.map(({ messageId, attempts }) => [messageId, attempts])).toEqual([[idOf('m1'), 1]]);
    // The refused message freed its credit for the next one.
    expect(sent).toEqual([
      ['b', 'm1', 1],
      ['b', 'm2', 1],
    ]);
    t.settle(linkOf('m2'), idOf('m2'), 'a', '');
    expect(await next).toBe('acked');
    expect(await t.drain(0)).toBe(0);
  });

  it('sends a delivery again elsewhere when its ack is later than ackTimeout, and dead-letters it at maxAttempts', async () => {
    timers.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    const { tracker: t, sent, deadLetters, submit } = tracker({ ackTimeout: 1_000, maxAttempts: 2 });
    t.credit('a', 1);
    t.credit('b', 1);
    const outcome = submit('m1');
    timers.advanceTimersByTime(999);
    expect(sent).toEqual([['a', 'm1', 1]]);
    timers.advanceTimersByTime(1);
    expect(sent).toEqual([
      ['a', 'm1', 1],
      ['b', 'm1', 2],
    ]);
    expect(t.counters.redelivered).toBe(1);
    timers.advanceTimersByTime(1_000);
    expect(deadLetters.map(({ attempts, reason }) => [attempts, reason])).toEqual([[2, 'not acknowledged within 1000 ms (ackTimeout)']]);
    expect(await outcome).toBe('DEAD_LETTER: m1 after 2: not acknowledged within 1000 ms (ackTimeout)');
    expect(sent).toHaveLength(2);
    expect(await t.drain(0)).toBe(0);
  });

  it("keeps a timed-out delivery's credit at its worker until that worker answers it or its connection drops", async () => {
    timers.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    const { tracker: t, sent, submit, idOf } = tracker({ ackTimeout: 1_000 });
    t.credit('a', 2);
    const first = submit('m1');
    void submit('m2');
    timers.advanceTimersByTime(1_000);
    // Both timed out on 'a' (a stalled worker): it is sent nothing, not even its own deliveries again.
    expect(sent).toEqual([
      ['a', 'm1', 1],
      ['a', 'm2', 1],
    ]);
    expect(t.unackedOn('a')).toBe(2);
    t.credit('b', 5);
    expect(sent.slice(2)).toEqual([
      ['b', 'm1', 2],
      ['b', 'm2', 2],
    ]);
    // A late failure from 'a' is of an attempt that already failed: the attempt on 'b' decides.
    expect(t.settle('a', idOf('m2'), 'f', 'late failure')).toBe(true);
    expect(t.unackedOn('a')).toBe(1);
    expect(sent).toHaveLength(4);
    // A late ack from 'a' settles the message; the copy on 'b' no longer holds 'b'.
    expect(t.settle('a', idOf('m1'), 'a', '')).toBe(true);
    expect(await first).toBe('acked');
    expect(t.unackedOn('a')).toBe(0);
    expect(t.unackedOn('b')).toBe(1);
    expect(t.settle('b', idOf('m1'), 'a', '')).toBe(false);
    // Late on 'b' too, and sent to 'b' again (it has the most free credit); then its connection
    // drops: what was late there holds nothing any more, and what was in flight goes to 'a'.
    timers.advanceTimersByTime(1_000);
    expect(sent.at(-1)).toEqual(['b', 'm2', 3]);
    expect(t.unackedOn('b')).toBe(2);
    t.linkLost('b');
    expect(t.unackedOn('b')).toBe(0);
    expect(sent.at(-1)).toEqual(['a', 'm2', 4]);
    timers.useRealTimers();
    expect(await t.drain(0)).toBe(1);
  });

  it('uses the credit a late answer frees at once, and tells a late answer (true) from an unknown id (false)', async () => {
    timers.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    const { tracker: t, sent, submit, idOf } = tracker({ ackTimeout: 1_000 });
    t.credit('a', 1);
    const first = submit('m1');
    timers.advanceTimersByTime(1_000);
    // Late at 'a', the only link: it waits, holding nothing but 'a''s late credit.
    expect(sent).toEqual([['a', 'm1', 1]]);
    expect(t.settle('a', idOf('m1'), 'f', 'failed late')).toBe(true);
    // The late failure freed 'a''s credit: m1 goes again without waiting for the next sweep.
    expect(sent).toEqual([
      ['a', 'm1', 1],
      ['a', 'm1', 2],
    ]);
    t.credit('b', 1);
    void submit('m2');
    timers.advanceTimersByTime(1_000);
    // m1 is late at 'a' again and m2 at 'b'. An ack settles m2 (from whichever worker ran it); the
    // late answer from 'b' that follows is of a message the tracker knew: not a stray reply.
    expect(t.settle('a', idOf('m2'), 'a', '')).toBe(true);
    expect(t.unackedOn('b')).toBe(1);
    expect(t.settle('b', idOf('m2'), 'a', '')).toBe(true);
    // ... and the credit it frees at 'b' takes m1 at once.
    expect(sent.at(-1)).toEqual(['b', 'm1', 3]);
    expect(t.settle('b', `${t.producerId}.unknown`, 'a', '')).toBe(false);
    expect(t.settle('a', idOf('m1'), 'a', '')).toBe(true);
    expect(await first).toBe('acked');
    timers.useRealTimers();
    await t.drain(0);
  });

  it('sends nothing after drain: retries waiting for their back-off are cancelled', async () => {
    timers.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    const { tracker: t, sent, submit, idOf, linkOf } = tracker({ retryDelay: 100 });
    t.credit('a', 1);
    const outcome = submit('m1');
    t.settle(linkOf('m1'), idOf('m1'), 'f', 'busy');
    const drained = t.drain(0);
    // The drain's own timeout (0 ms) runs; the retry's back-off (100 ms) has not.
    timers.advanceTimersByTime(1);
    expect(await outcome).toBe('CLOSED: m1');
    expect(await drained).toBe(1);
    // No timer is left to keep a closed client's process alive until the back-off ends.
    expect(timers.getTimerCount()).toBe(0);
    timers.advanceTimersByTime(1_000);
    expect(sent).toEqual([['a', 'm1', 1]]);
    timers.useRealTimers();
  });

  it('frees the credit of a delivery that times out after its connection dropped, before the lost link is resent', async () => {
    timers.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    // A grace for unread acks longer than ackTimeout: the timeout comes first (a partition).
    let unread = true;
    const { tracker: t, sent, submit } = tracker({ ackTimeout: 1_000, lostLinkGrace: 5_000, unread: () => unread });
    t.credit('a', 2);
    void submit('m1');
    void submit('m2');
    t.linkLost('a');
    timers.advanceTimersByTime(1_000);
    // Sent on the connection that dropped: no late credit held there, nothing left counted.
    expect(t.unackedOn('a')).toBe(0);
    unread = false;
    t.credit('a', 2);
    expect(sent.slice(2)).toEqual([
      ['a', 'm1', 2],
      ['a', 'm2', 2],
    ]);
    expect(t.unackedOn('a')).toBe(2);
    timers.useRealTimers();
    await t.drain(0);
  });

  it("requeues a lost link's deliveries ahead of the waiting ones and voids its credit", async () => {
    const { tracker: t, sent, submit } = tracker();
    t.credit('a', 2);
    ['m1', 'm2', 'm3'].forEach((pattern) => void submit(pattern));
    t.linkLost('a');
    t.linkLost('unknown-link');
    expect(sent).toHaveLength(2);
    t.credit('b', 3);
    expect(sent.slice(2)).toEqual([
      ['b', 'm1', 2],
      ['b', 'm2', 2],
      ['b', 'm3', 1],
    ]);
    // Link a's deliveries were released: once it announces credit again, all of it is free.
    t.credit('a', 1);
    void submit('m4');
    expect(sent.at(-1)).toEqual(['a', 'm4', 1]);
    expect(t.counters.redelivered).toBe(2);
    await t.drain(0);
  });

  it("resends only the lost link's deliveries, and only those sent before the loss; reports them once", async () => {
    timers.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    const reported: Array<[string, string[]]> = [];
    const {
      tracker: t,
      sent,
      submit,
    } = tracker({
      lostLinkGrace: 300,
      unread: () => false,
      onLinkLost: (link, lost) => reported.push([link, lost.map((delivery) => delivery.pattern)]),
    });
    t.credit('a', 1);
    t.credit('b', 1);
    ['m1', 'm2'].forEach((pattern) => void submit(pattern));
    expect(sent.map(([link, pattern]) => `${link} ${pattern}`)).toEqual(['a m1', 'b m2']);
    t.linkLost('a');
    timers.advanceTimersByTime(100);
    // 'a' is back before the grace ends and takes a new delivery: it was sent after the loss.
    t.credit('a', 2);
    void submit('m3');
    expect(sent.at(-1)).toEqual(['a', 'm3', 1]);
    timers.advanceTimersByTime(300);
    // m1 (sent on the lost connection) goes again; m2 (on 'b') and m3 (after the loss) stay where they are.
    expect(sent.slice(3)).toEqual([['a', 'm1', 2]]);
    expect(reported).toEqual([['a', ['m1']]]);
    // Then 'b' is lost: its own delivery is reported, in a report of its own.
    t.linkLost('b');
    timers.advanceTimersByTime(1_000);
    expect(reported).toHaveLength(2);
    expect(reported[1]).toEqual(['b', ['m2']]);
    timers.useRealTimers();
    await t.drain(0);
  });

  it("with lostLinkGrace, resends a lost link's deliveries only after it, not those acked meanwhile, and not while acks wait unread", async () => {
    timers.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    let unread = false;
    const { tracker: t, sent, submit, idOf, linkOf } = tracker({ lostLinkGrace: 300, unread: () => unread });
    t.credit('a', 2);
    t.credit('b', 1);
    const acked = submit('m1');
    ['m2', 'm3'].forEach((pattern) => void submit(pattern));
    expect(sent.map(([link, pattern]) => `${link} ${pattern}`)).toEqual(['a m1', 'a m2', 'b m3']);
    t.linkLost('a');
    // The ack a sent before it went arrives during the grace: m1 is done, never resent.
    t.settle(linkOf('m1'), idOf('m1'), 'a', '');
    expect(await acked).toBe('acked');
    // b has room again, yet m2 waits: the grace, then as long as a's socket holds unread messages.
    t.settle(linkOf('m3'), idOf('m3'), 'a', '');
    unread = true;
    timers.advanceTimersByTime(900);
    expect(sent).toHaveLength(3);
    unread = false;
    timers.advanceTimersByTime(300);
    expect(sent.at(-1)).toEqual(['b', 'm2', 2]);
    expect(t.counters.redelivered).toBe(1);
    t.settle(linkOf('m2'), idOf('m2'), 'a', '');
    expect(await t.drain(0)).toBe(0);
  });

  it('gives a message the socket refused to another link, voids the refusing link and asks it for credit', async () => {
    const { tracker: t, sent, creditRequests, refusing, submit, idOf, linkOf } = tracker();
    refusing.add('a');
    t.credit('a', 1);
    const outcome = submit('m1');
    await flush();
    expect(creditRequests).toEqual(['a']);
    expect(sent).toEqual([['a', 'm1', 1]]);
    t.credit('b', 1);
    // The refused send does not count as an attempt.
    expect(sent).toEqual([
      ['a', 'm1', 1],
      ['b', 'm1', 1],
    ]);
    expect(t.counters.redelivered).toBe(0);
    t.settle(linkOf('m1'), idOf('m1'), 'a', '');
    expect(await outcome).toBe('acked');
    expect(await t.drain(0)).toBe(0);
  });

  it('bounds outstanding messages by maxQueueSize and maxQueueBytes; a lone large message is still taken', async () => {
    const counted = tracker({ maxQueueSize: 2 });
    void counted.submit('m1');
    void counted.submit('m2');
    expect(await counted.submit('m3')).toBe('QUEUE_FULL: m3');
    expect(counted.tracker.outstanding).toBe(2);
    await counted.tracker.drain(0);

    const sized = tracker({ maxQueueBytes: 100 });
    sized.tracker.credit('a', 10);
    const large = sized.submit('large', 150);
    expect(await sized.submit('small', 1)).toBe('QUEUE_FULL: small');
    sized.tracker.settle(sized.linkOf('large'), sized.idOf('large'), 'a', '');
    expect(await large).toBe('acked');
    void sized.submit('m1', 60);
    expect(await sized.submit('m2', 60)).toBe('QUEUE_FULL: m2');
    void sized.submit('m3', 40);
    expect(sized.tracker.outstanding).toBe(2);
    await sized.tracker.drain(0);
  });

  it('drain() stops new messages and resolves with 0 once every outstanding one is acked', async () => {
    const { tracker: t, sent, submit, idOf, linkOf } = tracker();
    t.credit('a', 1);
    const outcomes = [submit('m1'), submit('m2')];
    let drained: number | undefined;
    const draining = t.drain(30_000).then((left) => (drained = left));
    expect(await submit('m3')).toBe('CLOSED: m3');
    t.settle(linkOf('m1'), idOf('m1'), 'a', '');
    expect(sent.at(-1)).toEqual(['a', 'm2', 1]);
    await flush();
    expect(drained).toBeUndefined();
    t.settle(linkOf('m2'), idOf('m2'), 'a', '');
    await draining;
    expect(drained).toBe(0);
    expect(await Promise.all(outcomes)).toEqual(['acked', 'acked']);
  });

  it('drain() fails what is still outstanding at its timeout with closed, counts it, and retries nothing after', async () => {
    const { tracker: t, sent, creditRequests, refusing, submit, idOf, linkOf } = tracker({ retryDelay: 60_000 });
    t.credit('a', 1);
    const backingOff = submit('m1');
    t.settle(linkOf('m1'), idOf('m1'), 'f', 'busy');
    refusing.add('a');
    const refused = submit('m2');
    expect(sent.at(-1)).toEqual(['a', 'm2', 1]);
    // The socket's refusal arrives after the close: a closed tracker asks no worker for credit.
    const drained = t.drain(5);
    await flush();
    expect(creditRequests).toEqual([]);
    expect(await drained).toBe(2);
    expect(await Promise.all([backingOff, refused])).toEqual(['CLOSED: m1', 'CLOSED: m2']);
    expect(t.outstanding).toBe(0);
    expect(sent).toHaveLength(2);
  });

  it('checks ack deadlines every ackTimeout / 4, between 20 ms and 1 s: a late delivery goes again at the first check after its deadline', async () => {
    timers.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    for (const [ackTimeout, period] of [
      [40, 20],
      [1_000, 250],
      [8_000, 1_000],
    ]) {
      const { tracker: t, sent, submit, idOf } = tracker({ ackTimeout });
      t.credit('a', 1);
      t.credit('b', 1);
      // Sent 1 ms after the tracker started checking: its deadline falls between two checks.
      timers.advanceTimersByTime(1);
      void submit('m1');
      const resentAt = Math.ceil((ackTimeout + 1) / period) * period;
      timers.advanceTimersByTime(resentAt - 2);
      expect(sent).toEqual([['a', 'm1', 1]]);
      timers.advanceTimersByTime(1);
      expect(sent).toEqual([
        ['a', 'm1', 1],
        ['b', 'm1', 2],
      ]);
      t.settle('b', idOf('m1'), 'a', '');
      expect(await t.drain(0)).toBe(0);
    }
  });

  it('leaves a failed delivery to its back-off: the ack-deadline check does not send it sooner', async () => {
    timers.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    const { tracker: t, sent, submit, idOf, linkOf } = tracker({ ackTimeout: 1_000, retryDelay: 5_000, maxRetryDelay: 5_000 });
    t.credit('a', 1);
    const outcome = submit('m1');
    t.settle(linkOf('m1'), idOf('m1'), 'f', 'busy');
    // Its ack deadline (1 s) passes while it backs off: it is not in flight, nothing to time out.
    timers.advanceTimersByTime(4_999);
    expect(sent).toEqual([['a', 'm1', 1]]);
    timers.advanceTimersByTime(1);
    expect(sent).toEqual([
      ['a', 'm1', 1],
      ['a', 'm1', 2],
    ]);
    t.settle(linkOf('m1'), idOf('m1'), 'a', '');
    expect(await outcome).toBe('acked');
    expect(t.counters).toEqual({ acked: 1, redelivered: 1, deadLettered: 0, replayed: 0, expired: 0 });
    expect(await t.drain(0)).toBe(0);
  });

  it('does not send again a timed-out message that a late ack settled while it waited for credit', async () => {
    timers.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    const { tracker: t, sent, submit, idOf } = tracker({ ackTimeout: 1_000 });
    t.credit('a', 1);
    const first = submit('m1');
    timers.advanceTimersByTime(1_000);
    // m1 timed out and waits to go again; 'a', the only link, holds its late credit.
    expect(sent).toEqual([['a', 'm1', 1]]);
    expect(t.settle('a', idOf('m1'), 'a', '')).toBe(true);
    expect(await first).toBe('acked');
    // The credit the late ack freed goes to the next message, not to a copy of m1.
    const second = submit('m2');
    expect(sent).toEqual([
      ['a', 'm1', 1],
      ['a', 'm2', 1],
    ]);
    t.settle('a', idOf('m2'), 'a', '');
    expect(await second).toBe('acked');
    expect(t.counters).toEqual({ acked: 2, redelivered: 0, deadLettered: 0, replayed: 0, expired: 0 });
    timers.useRealTimers();
    expect(await t.drain(0)).toBe(0);
  });
});
