import { parsePeerJson } from './safe-json.js';

describe('parsePeerJson', () => {
  it('parses ordinary JSON as JSON.parse does', () => {
    for (const text of ['{"a":1,"b":[true,null,"x"]}', '[1,2]', '"text"', '42', 'null', '{"constructor":"Bosch"}']) {
      expect(parsePeerJson(text)).toEqual({ value: JSON.parse(text) });
    }
  });

  it.each([
    '{"__proto__":{"polluted":true}}',
    '{"a":{"b":[{"__proto__":{"polluted":true}}]}}',
    '{"\\u005f_proto__":{"polluted":true}}',
    '{"constructor":{"prototype":{"polluted":true}}}',
  ])('refuses %s', (text) => {
    expect(parsePeerJson(text)).toEqual({ error: 'has a "__proto__" or "constructor.prototype" key (refused: prototype pollution)' });
    // JSON.parse alone would hand a handler an object that changes prototypes when merged.
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('says when text is not JSON', () => {
    expect(parsePeerJson('{"a":')).toEqual({ error: 'is not valid JSON' });
  });
});
