import type { MessageHandler } from '@nestjs/microservices';
import { WildcardMatcher } from '../patterns/wildcards.js';

/** Wildcard answers remembered; past this many the memory starts over (peers choose the patterns). */
const MAX_REMEMBERED = 10_000;

/**
 * The handler of a received pattern: the exact handler (one Map lookup), else the most specific
 * wildcard handler (`orders.*`, `prices.>`). The wildcards are compiled from Nest's handler map
 * the first time they are needed and again whenever handlers were added; their answers are
 * remembered per pattern, so a pattern met again costs a second Map lookup, not a match.
 */
export class HandlerLookup {
  private wildcards = new WildcardMatcher<MessageHandler>([]);
  private readonly remembered = new Map<string, MessageHandler | null>();
  private compiledFor = 0;

  constructor(private readonly handlers: ReadonlyMap<string, MessageHandler>) {}

  find(pattern: string): MessageHandler | undefined {
    const exact = this.handlers.get(pattern);
    if (exact !== undefined) {
      return exact;
    }
    if (this.handlers.size !== this.compiledFor) {
      this.wildcards = new WildcardMatcher(this.handlers);
      this.compiledFor = this.handlers.size;
      this.remembered.clear();
    }
    let found = this.remembered.get(pattern);
    if (found === undefined) {
      found = this.wildcards.match(pattern) ?? null;
      if (this.remembered.size >= MAX_REMEMBERED) {
        this.remembered.clear();
      }
      this.remembered.set(pattern, found);
    }
    return found ?? undefined;
  }
}
