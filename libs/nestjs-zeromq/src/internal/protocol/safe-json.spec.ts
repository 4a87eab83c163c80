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
    '{"\\u005f\\u005fproto\\u005f\\u005f":{"polluted":true}}',
    '{"constructor":{"prototype":{"polluted":true}}}',
    '{"\\u0063onstructor":{"prototype":{"polluted":true}}}',
    '\ufeff{"__proto__":{"polluted":true}}',
  ])('refuses %s', (text) => {
    expect(parsePeerJson(text)).toEqual({ error: 'has a "__proto__" or "constructor.prototype" key (refused: prototype pollution)' });
    // JSON.parse alone would hand a handler an object that changes prototypes when merged.
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('reads text that cannot spell a prototype key as JSON.parse does, and a byte-order mark as secure-json-parse does', () => {
    expect(parsePeerJson('{"seq":1,"pad":"xxxx"}')).toEqual({ value: { seq: 1, pad: 'xxxx' } });
    expect(parsePeerJson('\ufeff{"seq":1}')).toEqual({ value: { seq: 1 } });
    expect(parsePeerJson('{"_":"_x_","u":"\\u0041"}')).toEqual({ value: { _: '_x_', u: 'A' } });
  });

  it('says when text is not JSON', () => {
    expect(parsePeerJson('{"a":')).toEqual({ error: 'is not valid JSON' });
  });
});
