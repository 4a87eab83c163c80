import { BoundedMap } from './bounded-map.js';

describe('BoundedMap', () => {
  it('forgets the oldest keys beyond its capacity', () => {
    const map = new BoundedMap<string, number>(3);
    ['a', 'b', 'c', 'd'].forEach((key, i) => map.set(key, i));
    expect(map.size).toBe(3);
    expect(['a', 'b', 'c', 'd'].map((key) => map.has(key))).toEqual([false, true, true, true]);
    expect([...map.values()]).toEqual([1, 2, 3]);
  });

  it('updates a present key without evicting anything', () => {
    const map = new BoundedMap<string, number>(2);
    map.set('a', 1);
    map.set('b', 2);
    map.set('a', 10);
    expect([...map.values()].sort()).toEqual([10, 2]);
    map.set('c', 3);
    // 'a' kept its original (oldest) place, so it goes first.
    expect(map.has('a')).toBe(false);
    expect(map.has('b') && map.has('c')).toBe(true);
  });

  it('keeps exactly the newest keys over many wrap-arounds', () => {
    const map = new BoundedMap<number, true>(1_000);
    for (let i = 0; i < 200_000; i++) {
      map.set(i, true);
    }
    expect(map.size).toBe(1_000);
    expect(map.has(199_999) && !map.has(198_999)).toBe(true);
  });
});
