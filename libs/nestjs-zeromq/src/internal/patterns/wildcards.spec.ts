import { coveringPrefixes, isWildcard, subscriptionPrefix, WildcardMatcher } from './wildcards.js';

describe('wildcard patterns', () => {
  it.each([
    ['orders.*', true],
    ['orders.>', true],
    ['*.created', true],
    ['>', true],
    ['orders.created', false],
    ['orders*', false],
    ['a.>.b', false],
    ['{"cmd":"audit"}', false],
  ])('%s is a wildcard: %s', (pattern, expected) => {
    expect(isWildcard(pattern)).toBe(expected);
  });

  it.each([
    ['orders.created', 'orders.created'],
    ['orders.*', 'orders.'],
    ['orders.*.eu', 'orders.'],
    ['orders.eu.>', 'orders.eu.'],
    ['*.created', ''],
    ['>', ''],
  ])('subscribes to %s with the prefix %j', (pattern, prefix) => {
    expect(subscriptionPrefix(pattern)).toBe(prefix);
  });

  it('keeps only the prefixes no shorter one covers', () => {
    expect(coveringPrefixes(['orders.created', 'orders.', 'prices.eu', 'prices.eu', 'prices.'])).toEqual(['orders.', 'prices.']);
    expect(coveringPrefixes(['a', ''])).toEqual(['']);
  });

  it('matches * to one token and > to one or more', () => {
    const matcher = new WildcardMatcher([
      ['orders.*', 'one'],
      ['prices.>', 'rest'],
      ['exact.pattern', 'ignored'],
    ]);
    expect(matcher.size).toBe(2);
    expect(matcher.match('orders.created')).toBe('one');
    expect(matcher.match('orders.eu.created')).toBeUndefined();
    expect(matcher.match('orders')).toBeUndefined();
    expect(matcher.match('prices.eu')).toBe('rest');
    expect(matcher.match('prices.eu.sku-1')).toBe('rest');
    expect(matcher.match('prices')).toBeUndefined();
    expect(matcher.match('exact.pattern')).toBeUndefined();
  });

  it('prefers the most specific wildcard', () => {
    const matcher = new WildcardMatcher([
      ['>', 'anything'],
      ['orders.>', 'orders rest'],
      ['orders.*', 'orders one'],
      ['orders.*.eu', 'eu'],
      ['*.*.eu', 'any eu'],
    ]);
    expect(matcher.match('orders.created')).toBe('orders one');
    expect(matcher.match('orders.x.eu')).toBe('eu');
    expect(matcher.match('orders.x.us')).toBe('orders rest');
    expect(matcher.match('prices.x.eu')).toBe('any eu');
    expect(matcher.match('prices')).toBe('anything');
  });
});
