/**
 * Wildcard patterns (docs/topologies.md, "Wildcard patterns"), as NATS writes them: a pattern is
 * dot-separated tokens; a token `*` matches exactly one token, a last token `>` matches one or
 * more. `orders.*` matches `orders.created`, not `orders.eu.created`; `orders.>` matches both.
 * Only string patterns can be wildcards: an object pattern (key-sorted JSON) is always exact.
 */
const SEPARATOR = '.';
const ONE = '*';
const REST = '>';

/** Whether `pattern` holds a wildcard token (a `>` that is not last makes it a literal). */
export function isWildcard(pattern: string): boolean {
  const tokens = pattern.split(SEPARATOR);
  const restAt = tokens.indexOf(REST);
  return (tokens.includes(ONE) || restAt >= 0) && (restAt < 0 || restAt === tokens.length - 1);
}

/**
 * The ZeroMQ subscription (a byte prefix) that lets through every topic `pattern` matches: the
 * pattern itself when it is exact, else what comes before its first wildcard token.
 */
export function subscriptionPrefix(pattern: string): string {
  if (!isWildcard(pattern)) {
    return pattern;
  }
  const tokens = pattern.split(SEPARATOR);
  const literal = tokens.slice(
    0,
    tokens.findIndex((token) => token === ONE || token === REST),
  );
  return literal.length === 0 ? '' : literal.join(SEPARATOR) + SEPARATOR;
}

/** The fewest prefixes covering `prefixes`: one covered by a shorter one is left out. */
export function coveringPrefixes(prefixes: Iterable<string>): string[] {
  const sorted = [...new Set(prefixes)].sort((a, b) => a.length - b.length);
  const kept: string[] = [];
  for (const prefix of sorted) {
    if (!kept.some((shorter) => prefix.startsWith(shorter))) {
      kept.push(prefix);
    }
  }
  return kept;
}

/** One wildcard pattern, split once. */
class CompiledWildcard<T> {
  readonly tokens: readonly string[];
  /** Whether it ends in `>` (one or more tokens). */
  readonly rest: boolean;
  /** Literal tokens: the more, the more specific. */
  readonly literals: number;

  constructor(
    readonly pattern: string,
    readonly value: T,
  ) {
    const tokens = pattern.split(SEPARATOR);
    this.rest = tokens[tokens.length - 1] === REST;
    this.tokens = this.rest ? tokens.slice(0, -1) : tokens;
    this.literals = this.tokens.filter((token) => token !== ONE).length;
  }

  matches(tokens: readonly string[]): boolean {
    const own = this.tokens;
    if (this.rest ? tokens.length <= own.length : tokens.length !== own.length) {
      return false;
    }
    for (let i = 0; i < own.length; i++) {
      if (own[i] !== ONE && own[i] !== tokens[i]) {
        return false;
      }
    }
    return true;
  }
}

/**
 * Finds the value of the wildcard pattern that matches a concrete pattern. When several match,
 * the most specific wins: more literal tokens first, then `*` before `>`, then the longer
 * pattern. Exact patterns are not its business: the caller's Map lookup comes first, so exact
 * lookups stay one hash lookup.
 */
export class WildcardMatcher<T> {
  private readonly compiled: Array<CompiledWildcard<T>>;

  constructor(entries: Iterable<[pattern: string, value: T]>) {
    this.compiled = [...entries]
      .filter(([pattern]) => isWildcard(pattern))
      .map(([pattern, value]) => new CompiledWildcard(pattern, value))
      .sort((a, b) => b.literals - a.literals || Number(a.rest) - Number(b.rest) || b.pattern.length - a.pattern.length);
  }

  get size(): number {
    return this.compiled.length;
  }

  match(pattern: string): T | undefined {
    if (this.compiled.length === 0) {
      return undefined;
    }
    const tokens = pattern.split(SEPARATOR);
    for (const wildcard of this.compiled) {
      if (wildcard.matches(tokens)) {
        return wildcard.value;
      }
    }
    return undefined;
  }
}
