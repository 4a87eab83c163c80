// Deep imports of Nest internals are allowed here only: if a Nest release moves or changes them,
// this spec fails and names what the library relies on.
import type { MsPattern } from '@nestjs/microservices';
import { NO_MESSAGE_HANDLER as NEST_NO_MESSAGE_HANDLER } from '@nestjs/microservices/constants.js';
import { transformPatternToRoute } from '@nestjs/microservices/utils/transform-pattern.utils.js';
import { NO_MESSAGE_HANDLER } from '../constants.js';
import { normalizePattern } from './nest-pattern.js';

describe('Nest compatibility', () => {
  it.each<[string, MsPattern]>([
    ['a string pattern', 'orders.created'],
    ['a number pattern', 42],
    ['an object pattern (keys sorted)', { version: 1, cmd: 'audit' }],
    ['a nested object pattern', { b: { d: 'x"y', c: 2 }, a: 'z' }],
  ])('normalizes %s exactly as Nest keys its handlers', (_, pattern) => {
    expect(normalizePattern(pattern)).toBe(transformPatternToRoute(pattern));
  });

  it('normalizes object patterns to key-sorted JSON', () => {
    expect(normalizePattern({ version: 1, cmd: 'audit' })).toBe('{"cmd":"audit","version":1}');
  });

  it("answers an unknown request pattern with Nest's own wording", () => {
    expect(NO_MESSAGE_HANDLER).toBe(NEST_NO_MESSAGE_HANDLER);
  });
});
