import { flush, submitted, tracker } from '../../../test/delivery-tracker-harness.js';
import type { Settle } from '../sockets/send-queue.js';
import type { Delivery } from './delivery.js';

const timers = import.meta.jest;

/** The tracker and its worker connections: links lost, added, retired and removed, and answers or refusals from a link a delivery left. */
describe('DeliveryTracker links', () => {
  afterEach(() => timers.useRealTimers());

  it('ignores a refusal of a delivery that went elsewhere meanwhile (its connection dropped first)', async () => {
    const { tracker: t, sent, creditRequests, refusing, submit, idOf } = tracker();
    refusing.add('a');
    t.credit('a', 1);
    const outcome = submit('m1');
    // The connection drops before its socket's refusal is told: m1 goes to 'b' at once.
    t.linkLost('a');
    t.credit('b', 1);
    expect(sent).toEqual([
      ['a', 'm1', 1],
      ['b', 'm1', 2],
    ]);
    await flush();
    // The refusal comes from the old connection: m1 stays in flight at 'b', sent once there.
    expect(sent).toHaveLength(2);
    expect(t.unackedOn('b')).toBe(1);
    expect(creditRequests).toEqual([]);
    expect(t.counters.redelivered).toBe(1);
    expect(t.settle('b', idOf('m1'), 'a', '')).toBe(true);
    expect(await outcome).toBe('acked');
    expect(await t.drain(0)).toBe(0);
  });

  it('takes a failure read from a dropped connection, of a message since sent elsewhere, as its own (true), and leaves the attempt in flight alone', async () => {
    const { tracker: t, sent, submit, idOf } = tracker();
    t.credit('a', 1);
    const outcome = submit('m1');
    t.linkLost('a');
    t.credit('b', 1);
    expect(sent).toEqual([
      ['a', 'm1', 1],
      ['b', 'm1', 2],
    ]);
    // The worker on 'a' failed m1 just before it went; its answer is read after the loss. Not a stray
    // reply (the client counts a false as one), and not the failure of the attempt running on 'b'.
    expect(t.settle('a', idOf('m1'), 'f', 'failed before the drop')).toBe(true);
    expect(t.unackedOn('b')).toBe(1);
    expect(sent).toHaveLength(2);
    expect(t.settle('b', idOf('m1'), 'a', '')).toBe(true);
    expect(await outcome).toBe('acked');
    expect(await t.drain(0)).toBe(0);
  });

  it('reports a lost link only when it had something to resend: an idle worker that goes is no news', async () => {
    const reported: string[] = [];
    const { tracker: t, submit, idOf } = tracker({ onLinkLost: (link, lost) => reported.push(`${link}: ${lost.length}`) });
    t.credit('a', 1);
    t.credit('b', 1);
    void submit('m1');
    t.settle('a', idOf('m1'), 'a', '');
    t.linkLost('a');
    t.linkLost('b');
    expect(reported).toEqual([]);
    void submit('m2');
    t.credit('b', 1);
    t.linkLost('b');
    expect(reported).toEqual(['b: 1']);
    await t.drain(0);
  });

  it('gives work to an added link once it announces credit; a removed one is sent nothing and its deliveries go to the others', async () => {
    const { tracker: t, sent, submit, idOf } = tracker();
    t.addLink('c');
    t.credit('a', 1);
    void submit('m1');
    void submit('m2');
    expect(sent).toEqual([['a', 'm1', 1]]);
    t.credit('c', 1);
    expect(sent.at(-1)).toEqual(['c', 'm2', 1]);
    // 'a' leaves DNS and its connection closes: m1 goes to 'c' once 'c' has room, and 'a' takes nothing again.
    t.removeLink('a');
    expect(t.unackedOn('a')).toBe(0);
    t.credit('a', 5);
    t.settle('c', idOf('m2'), 'a', '');
    expect(sent.at(-1)).toEqual(['c', 'm1', 2]);
    void submit('m3');
    expect(sent).toHaveLength(3);
    t.settle('c', idOf('m1'), 'a', '');
    expect(sent.at(-1)).toEqual(['c', 'm3', 1]);
    await t.drain(0);
  });

  it('frees the late credit of a delivery that timed out at a link whose socket then refuses it (it never reached that worker), and sends what waited for it at once', async () => {
    timers.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    // Sends complete when the test says: an ackTimeout shorter than the socket's send timeout.
    const sockets = new Map<string, Settle>();
    const sent: string[] = [];
    const { tracker: t } = tracker({
      ackTimeout: 1_000,
      transmit: (link: string, delivery: Delivery, done: Settle) => {
        sent.push(`${link} ${delivery.pattern}`);
        sockets.set(`${link} ${delivery.pattern}`, done);
      },
    });
    const submit = (pattern: string) => {
      // Failed with CLOSED by the drain at the end.
      submitted(t, pattern, { pattern, info: 'j', payload: '1', size: 10 }).catch(() => undefined);
    };
    t.credit('a', 1);
    submit('m1');
    timers.advanceTimersByTime(1_000);
    t.credit('b', 1);
    expect(sent).toEqual(['a m1', 'b m1']);
    expect(t.unackedOn('a')).toBe(1);
    // m2 waits: 'a''s one unit of credit is held late by m1, 'b''s is in use.
    submit('m2');
    expect(sent).toEqual(['a m1', 'b m1']);
    // 'a''s socket gives up on m1 (its send timeout): no answer will come from 'a' for it.
    sockets.get('a m1')!.reject(new Error('SEND_TIMEOUT'));
    await flush();
    // The freed credit takes m2 then and there (nothing else happens that would send it).
    expect(sent).toEqual(['a m1', 'b m1', 'a m2']);
    expect(t.unackedOn('a')).toBe(1);
    timers.useRealTimers();
    await t.drain(0);
  });

  it("takes an 'h' (not run: no hello on that connection) as a refused send: the same attempt goes again, to another worker, and the link waits for a new hello", async () => {
    const { tracker: t, sent, creditRequests, submit, idOf } = tracker();
    t.credit('a', 1);
    const outcome = submit('m1');
    t.credit('b', 1);
    expect(t.unheard('a', idOf('m1'))).toBe(true);
    expect(sent).toEqual([
      ['a', 'm1', 1],
      ['b', 'm1', 1],
    ]);
    expect(creditRequests).toEqual(['a']);
    expect(t.counters.redelivered).toBe(0);
    expect([t.unackedOn('a'), t.unackedOn('b')]).toEqual([0, 1]);
    // 'a''s credit is void until its worker answers the new hello: m2 waits for 'b'.
    void submit('m2');
    expect(sent).toHaveLength(2);
    t.credit('a', 1);
    expect(sent.at(-1)).toEqual(['a', 'm2', 1]);
    expect(t.settle('b', idOf('m1'), 'a', '')).toBe(true);
    expect(await outcome).toBe('acked');
    await t.drain(0);
  });

  it("takes an 'h' for a message acked elsewhere meanwhile as the end of the late credit it held where it timed out (true); another is a stray reply (false)", async () => {
    timers.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    const { tracker: t, sent, creditRequests, submit, idOf } = tracker({ ackTimeout: 1_000 });
    t.credit('a', 1);
    const outcome = submit('m1');
    timers.advanceTimersByTime(1_000);
    t.credit('b', 1);
    expect(t.settle('b', idOf('m1'), 'a', '')).toBe(true);
    timers.useRealTimers();
    expect(await outcome).toBe('acked');
    // m1 timed out at 'a', which holds its credit for the late answer: m2 waits.
    void submit('m2');
    void submit('m3');
    expect(sent.map(([link, pattern]) => `${link} ${pattern}`)).toEqual(['a m1', 'b m1', 'b m2']);
    expect(t.unheard('a', idOf('m1'))).toBe(true);
    expect(sent.at(-1)).toEqual(['a', 'm3', 1]);
    expect(t.unheard('a', idOf('m1'))).toBe(false);
    expect(t.unheard('a', 'nobody.1')).toBe(false);
    expect(creditRequests).toEqual([]);
    await t.drain(0);
  });
});
