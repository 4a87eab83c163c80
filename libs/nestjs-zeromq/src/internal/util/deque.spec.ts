import { Deque } from './deque.js';

/** Takes everything out of a deque by shift(), oldest first. */
function drain<T>(deque: Deque<T>): T[] {
  const items: T[] = [];
  for (let item = deque.shift(); item !== undefined; item = deque.shift()) {
    items.push(item);
  }
  return items;
}

describe('Deque', () => {
  it('is first in, first out', () => {
    const deque = new Deque<number>();
    expect([deque.length, deque.peek(), deque.shift()]).toEqual([0, undefined, undefined]);
    [1, 2, 3].forEach((n) => deque.push(n));
    expect([deque.length, deque.peek()]).toEqual([3, 1]);
    expect(deque.shift()).toBe(1);
    deque.push(4);
    expect(drain(deque)).toEqual([2, 3, 4]);
    expect(deque.length).toBe(0);
  });

  it('puts items back at the front in the order given, into freed slots or not', () => {
    const reused = new Deque<number>();
    [1, 2, 3, 4].forEach((n) => reused.push(n));
    reused.shift();
    reused.shift();
    reused.unshift(10, 11);
    expect(drain(reused)).toEqual([10, 11, 3, 4]);

    const grown = new Deque<number>();
    [1, 2].forEach((n) => grown.push(n));
    grown.shift();
    grown.unshift(7, 8, 9);
    expect([grown.length, grown.peek()]).toEqual([4, 7]);
    expect(drain(grown)).toEqual([7, 8, 9, 2]);
  });

  it('keeps its order across compaction of a long run of shifts', () => {
    const deque = new Deque<number>();
    for (let n = 0; n < 3_000; n++) {
      deque.push(n);
    }
    for (let n = 0; n < 2_000; n++) {
      expect(deque.shift()).toBe(n);
    }
    expect([deque.length, deque.peek()]).toEqual([1_000, 2_000]);
    deque.unshift(-2, -1);
    deque.push(3_000);
    expect(drain(deque)).toEqual([-2, -1, ...Array.from({ length: 1_001 }, (_, i) => 2_000 + i)]);
  });

  it('clear() returns what is left, oldest first, and empties it', () => {
    const deque = new Deque<string>();
    ['a', 'b', 'c'].forEach((item) => deque.push(item));
    deque.shift();
    expect(deque.clear()).toEqual(['b', 'c']);
    expect([deque.length, deque.shift()]).toEqual([0, undefined]);
    deque.push('d');
    expect(drain(deque)).toEqual(['d']);
  });
});
