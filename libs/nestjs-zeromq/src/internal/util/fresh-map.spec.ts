import { freshIfEmpty } from './fresh-map.js';

describe('freshIfEmpty', () => {
  it('keeps a Map that holds entries, and gives an empty one in place of an emptied Map', () => {
    const map = new Map([['a', 1]]);
    expect(freshIfEmpty(map)).toBe(map);
    map.delete('a');
    const fresh = freshIfEmpty(map);
    expect(fresh).not.toBe(map);
    expect(fresh.size).toBe(0);
  });
});
