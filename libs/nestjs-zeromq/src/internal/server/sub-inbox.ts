import type * as zmq from 'zeromq';
import { BROADCAST_PREFIX_FRAMES, decodeStamp } from '../protocol/broadcast.js';
import { decodeMessage, type DecodedMessage, type DecodeLimits } from '../protocol/wire.js';
import { coveringPrefixes, subscriptionPrefix } from '../patterns/wildcards.js';
import type { ServerSocketPlan } from '../options/plans.js';
import type { ManagedSocket } from '../sockets/managed-socket.js';
import { BroadcastGaps } from './broadcast-gaps.js';
import { Inbox } from './inbox.js';
import type { InboxHost } from './inbox-host.js';

/** A plain broadcast from a plain ZeroMQ publisher: topic and payload. */
const PLAIN_FRAMES = 2;

/**
 * A subscriber: a SUB socket subscribed to the prefixes of its handlers' patterns (an exact
 * pattern, or what comes before a wildcard's first wildcard token), so that publishers filter for
 * it. What arrives is matched exactly (the server's handler lookup) and dispatched as events;
 * a record no handler matches (a prefix lets more through) counts as `unknownPattern`. Gaps in a
 * publisher's sequence count as `missed`.
 */
export class SubInbox extends Inbox {
  protected override readonly routingFrames = BROADCAST_PREFIX_FRAMES;
  /** The ZeroMQ subscriptions this socket holds. */
  readonly prefixes: readonly string[];
  private readonly gaps = new BroadcastGaps();

  constructor(managed: ManagedSocket<zmq.Socket, ServerSocketPlan>, host: InboxHost, concurrency: number) {
    super(managed, host, concurrency);
    this.prefixes = coveringPrefixes(subscribedPatterns(managed.plan, host).map(subscriptionPrefix));
    if (this.prefixes.length === 0) {
      host.problems.warn(
        'subscribe',
        `Socket "${this.name}" (kind 'pub-sub') has no @EventPattern handler to subscribe to: it receives nothing`,
      );
    } else {
      // subscribe() without arguments would subscribe to everything.
      (managed.socket as zmq.Subscriber).subscribe(...this.prefixes);
    }
  }

  protected override decode(frames: Buffer[], limits: DecodeLimits, offset: number): DecodedMessage {
    if (frames.length === PLAIN_FRAMES) {
      const topic = frames[0];
      return topic.length === 0 || topic.length > limits.maxPatternLength
        ? { kind: 'malformed', reason: `plain broadcast with a topic of ${topic.length} bytes (1 to maxPatternLength allowed)` }
        : { kind: 'plain', frame: frames[1] };
    }
    const message = decodeMessage(frames, limits, offset);
    if (message.kind !== 'events') {
      return message;
    }
    const stamp = decodeStamp(frames[1]);
    if (stamp === undefined) {
      return { kind: 'malformed', reason: 'broadcast without a "<publisher>:<sequence>" stamp in frame 1' };
    }
    const topic = frames[0].toString('utf8');
    const missed = this.gaps.observe(stamp.publisher, topic, stamp.sequence, message.records.length + message.rejected.length);
    if (missed > 0) {
      this.counters.add('missed', missed);
      this.host.problems.warn(
        'missed',
        `Socket "${this.name}" missed ${missed} "${topic}" broadcast(s) of publisher ${stamp.publisher}: dropped on the way (a high-water mark)`,
      );
    }
    return message;
  }

  /** A plain broadcast's pattern is its topic. */
  protected override plainPattern(frames: Buffer[]): string {
    return frames[0].toString('utf8');
  }
}

/** A route's own patterns; for the default socket, every event handler's pattern that no route lists. */
function subscribedPatterns(plan: ServerSocketPlan, host: InboxHost): string[] {
  if (plan.patterns.length > 0) {
    return plan.patterns;
  }
  const routed = new Set(host.config.sockets.flatMap((socket) => socket.patterns));
  return host.eventPatterns().filter((pattern) => !routed.has(pattern));
}
