import type { WritePacket } from '@nestjs/microservices';
import { PendingRequests } from './pending-requests.js';

const timers = import.meta.jest;

/** Pending requests whose callbacks record what each request received, by the name given at open. */
function requests() {
  const received: Array<[name: string, packet: WritePacket]> = [];
  const pending = new PendingRequests((pattern, link, timeout) => new Error(`timeout ${pattern} on ${link} after ${timeout} ms`));
  const open = (name: string, link: string, timeout = 0) =>
    pending.open(`pattern.${name}`, link, (packet) => received.push([name, packet]), timeout);
  const errors = () => received.map(([name, packet]) => [name, (packet.err as Error).message, packet.isDisposed]);
  return { pending, received, open, errors };
}

describe('PendingRequests', () => {
  afterEach(() => timers.useRealTimers());

  it('opens requests with distinct ids and counts them per link', () => {
    const { pending, open } = requests();
    const ids = [open('r1', 'a'), open('r2', 'a'), open('r3', 'b')];
    expect(new Set(ids).size).toBe(3);
    expect(pending.size).toBe(3);
    expect([pending.countOn('a'), pending.countOn('b'), pending.countOn('c')]).toEqual([2, 1, 0]);
  });

  it('delivers every reply of a stream and forgets the request with its last reply or an error', () => {
    const { pending, received, open } = requests();
    const stream = open('stream', 'a');
    const failing = open('failing', 'a');
    expect(pending.deliver(stream, { response: 1 })).toBe(true);
    expect(pending.deliver(stream, { response: 2 })).toBe(true);
    expect(pending.countOn('a')).toBe(2);
    expect(pending.deliver(stream, { response: 3, isDisposed: true })).toBe(true);
    expect(pending.deliver(failing, { err: 'boom' })).toBe(true);
    expect(received).toEqual([
      ['stream', { response: 1 }],
      ['stream', { response: 2 }],
      ['stream', { response: 3, isDisposed: true }],
      ['failing', { err: 'boom' }],
    ]);
    expect(pending.size).toBe(0);
    expect(pending.countOn('a')).toBe(0);
    // Late and unknown replies reach nobody.
    expect(pending.deliver(stream, { response: 4, isDisposed: true })).toBe(false);
    expect(pending.deliver('no-such-id', { response: 5 })).toBe(false);
    expect(received).toHaveLength(4);
  });

  it('fails a request once with the given error', () => {
    const { pending, open, errors } = requests();
    const id = open('r1', 'a');
    pending.fail(id, new Error('gone'));
    pending.fail(id, new Error('again'));
    expect(errors()).toEqual([['r1', 'gone', true]]);
    expect(pending.countOn('a')).toBe(0);
  });

  it('times a request out after its timeout with the timeout error, and never when it is 0', () => {
    timers.useFakeTimers();
    const { pending, received, open, errors } = requests();
    open('timed', 'a', 100);
    open('patient', 'b', 0);
    timers.advanceTimersByTime(99);
    expect(received).toEqual([]);
    timers.advanceTimersByTime(1);
    expect(errors()).toEqual([['timed', 'timeout pattern.timed on a after 100 ms', true]]);
    expect([pending.size, pending.countOn('a'), pending.countOn('b')]).toEqual([1, 0, 1]);
    timers.advanceTimersByTime(3_600_000);
    expect(received).toHaveLength(1);
  });

  it('a settled request leaves no timer that fails it later', () => {
    timers.useFakeTimers();
    const { pending, received, open } = requests();
    const answered = open('answered', 'a', 100);
    const cancelled = open('cancelled', 'a', 100);
    pending.deliver(answered, { response: 'ok', isDisposed: true });
    pending.cancel(cancelled);
    expect(timers.getTimerCount()).toBe(0);
    timers.advanceTimersByTime(1_000);
    expect(received).toEqual([['answered', { response: 'ok', isDisposed: true }]]);
  });

  it('fails the requests of one lost link and keeps the others', () => {
    const { pending, open, errors } = requests();
    open('r1', 'a');
    const other = open('r2', 'b');
    open('r3', 'a');
    expect(pending.failLink('a', (pattern) => new Error(`lost ${pattern}`))).toBe(2);
    expect(errors()).toEqual([
      ['r1', 'lost pattern.r1', true],
      ['r3', 'lost pattern.r3', true],
    ]);
    expect([pending.size, pending.countOn('a'), pending.countOn('b')]).toEqual([1, 0, 1]);
    expect(pending.failLink('a', () => new Error('none left'))).toBe(0);
    expect(pending.deliver(other, { response: 'still here', isDisposed: true })).toBe(true);
  });

  it('fails only the requests opened up to a mark (those sent after a server was lost stay)', () => {
    const { pending, open, errors } = requests();
    open('r1', 'a');
    const mark = pending.mark;
    open('r2', 'a');
    expect(pending.failLink('a', (pattern) => new Error(`lost ${pattern}`), mark)).toBe(1);
    expect(errors()).toEqual([['r1', 'lost pattern.r1', true]]);
    expect(pending.countOn('a')).toBe(1);
  });

  it('fails every request on close and counts them', () => {
    const { pending, open, errors } = requests();
    open('r1', 'a');
    open('r2', 'b');
    expect(pending.failAll((pattern, link) => new Error(`closed ${pattern} on ${link}`))).toBe(2);
    expect(errors()).toEqual([
      ['r1', 'closed pattern.r1 on a', true],
      ['r2', 'closed pattern.r2 on b', true],
    ]);
    expect(pending.size).toBe(0);
    expect(pending.failAll(() => new Error('nothing'))).toBe(0);
  });

  it('forgets a cancelled request: its late reply is refused and nothing reaches its callback', () => {
    const { pending, received, open } = requests();
    const id = open('r1', 'a');
    pending.cancel(id);
    pending.cancel(id);
    expect([pending.size, pending.countOn('a')]).toEqual([0, 0]);
    expect(pending.deliver(id, { response: 'late', isDisposed: true })).toBe(false);
    pending.fail(id, new Error('after cancel'));
    expect(received).toEqual([]);
  });
});
