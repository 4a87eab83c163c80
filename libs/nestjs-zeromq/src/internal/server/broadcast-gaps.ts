import { BoundedMap } from '../util/bounded-map.js';

/** Publisher-and-topic pairs a subscriber follows; beyond, the oldest is forgotten (and its next message starts afresh). */
const MAX_FOLLOWED = 10_000;

/**
 * Counts the broadcast records a subscriber missed: per publisher and topic, the sequence it
 * expects next (docs/protocol.md, "Broadcasts"). A higher one means records were dropped on the
 * way; the first message of a publisher, or one after it restarted (lower sequence), starts afresh.
 */
export class BroadcastGaps {
  private readonly expected = new BoundedMap<string, number>(MAX_FOLLOWED);

  /** Notes a message of `records` records; returns how many records before it never arrived. */
  observe(publisher: string, topic: string, sequence: number, records: number): number {
    const key = `${publisher}\u0000${topic}`;
    const expected = this.expected.get(key);
    this.expected.set(key, sequence + records);
    return expected !== undefined && sequence > expected ? sequence - expected : 0;
  }
}
