import { CompletedWindow } from './completed-window.js';

describe('CompletedWindow', () => {
  it('remembers the last `capacity` completed ids, the oldest forgotten first, whatever their form', () => {
    const window = new CompletedWindow(3);
    window.add('p1.a');
    window.add('plain-id');
    window.add('p2.1');
    expect(['p1.a', 'plain-id', 'p2.1'].map((id) => window.has(id))).toEqual([true, true, true]);
    window.add('p1.b');
    expect(window.has('p1.a')).toBe(false);
    expect(['plain-id', 'p2.1', 'p1.b'].map((id) => window.has(id))).toEqual([true, true, true]);
    window.add('p3.zz');
    window.add('p3.100');
    expect(['plain-id', 'p2.1', 'p1.b', 'p3.zz', 'p3.100'].map((id) => window.has(id))).toEqual([false, false, true, true, true]);
  });

  it('keeps ids apart that differ only in their producer or in how their sequence is spelled', () => {
    const window = new CompletedWindow(10);
    window.add('Yq3v.1k');
    expect(window.has('Yq3v.1k')).toBe(true);
    // The same sequence of another producer, and other spellings of 1k (56): other ids.
    for (const id of ['Yq3w.1k', 'q3v.1k', 'Yq3v.01k', 'Yq3v.1K', 'Yq3v.56', 'Yq3v.1k ', 'Yq3v1k', '.1k', 'Yq3v.']) {
      expect(window.has(id)).toBe(false);
    }
    window.add('Yq3v.01k');
    window.add('a.b.c');
    window.add('.5');
    window.add('a.');
    window.add('a.12345678901');
    for (const id of ['Yq3v.01k', 'a.b.c', '.5', 'a.', 'a.12345678901']) {
      expect(window.has(id)).toBe(true);
    }
    expect(window.has('a.1234567890')).toBe(false);
    expect(window.has('b.c')).toBe(false);
  });

  it('reads every base-36 digit and the longest sequence a producer writes', () => {
    const window = new CompletedWindow(4);
    window.add('p.0');
    window.add('p.z9a');
    window.add(`p.${(2 ** 50).toString(36)}`);
    expect(window.has('p.0')).toBe(true);
    expect(window.has('p.z9a')).toBe(true);
    expect(window.has(`p.${(2 ** 50).toString(36)}`)).toBe(true);
    expect(window.has(`p.${(2 ** 50 + 1).toString(36)}`)).toBe(false);
    expect(window.has('p.z9b')).toBe(false);
    expect(window.has('p.y9a')).toBe(false);
  });

  it('forgets a producer whose ids all left the window, and remembers it anew when it comes back', () => {
    const window = new CompletedWindow(2);
    window.add('gone.1');
    window.add('other.1');
    window.add('other.2');
    expect(window.has('gone.1')).toBe(false);
    window.add('gone.2');
    expect(window.has('gone.2')).toBe(true);
    expect(window.has('gone.1')).toBe(false);
    expect(window.has('other.2')).toBe(true);
    expect(window.has('other.1')).toBe(false);
  });
});
