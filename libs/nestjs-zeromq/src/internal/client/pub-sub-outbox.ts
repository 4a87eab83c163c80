import { randomBytes } from 'node:crypto';
import type * as zmq from 'zeromq';
import { broadcastFrames, encodeStamp } from '../protocol/broadcast.js';
import type { Fragment, Frame } from '../protocol/wire.js';
import { receiveLoop } from '../sockets/receive-loop.js';
import type { RateLimitedLog } from '../util/rate-limited-log.js';
import { Outbox, type Outgoing, type OutboxHost, type OutboxTotals } from './outbox.js';
import { SubscriptionCounts, type SubscriptionChange } from './subscription-counts.js';

/**
 * A publisher: an XPUB socket that sends every emit to each subscriber holding a matching
 * subscription, and reads the subscriptions themselves so that the client can count subscribers
 * and wait for them. Records of one pattern share a message; each message is stamped with this
 * publisher's sequence for its topic (subscribers count the gaps: see BroadcastGaps). ZeroMQ
 * drops, per subscriber, what is past that subscriber's high-water mark: the publisher never
 * blocks and never learns of it.
 */
export class PubSubOutbox extends Outbox {
  override readonly subscriptions = new SubscriptionCounts();
  private readonly publisherId = randomBytes(6).toString('base64url');
  /** Records sent so far per topic: the next message's sequence. */
  private readonly sequences = new Map<string, number>();
  /** Batch keys by slab and pattern (a slab's keys go with it). */
  private readonly batchKeys = new WeakMap<Buffer, Map<string, object>>();
  protected override readonly confirmsHandshake = false;

  override addTo(totals: OutboxTotals): void {
    super.addTo(totals);
    totals.subscriptions[this.name] = this.subscriptions.snapshot();
  }

  /** Reads subscriptions (XPUB), counting them and telling the client of each change. */
  protected override readFrom(host: OutboxHost): Promise<void> {
    return this.readSubscriptions((change) => host.subscriptionChanged(this.name, change), host.problems);
  }

  override async drain(timeout: number): Promise<number> {
    this.subscriptions.close(`Socket "${this.name}" closed while waiting for subscribers`);
    return super.drain(timeout);
  }

  /**
   * One pattern per message (subscribers filter on its first frame), and records of one slab only
   * (a batch body is one view of it): the key stands for the pair.
   */
  protected override batchKeyOf(item: Outgoing): unknown {
    if (item.kind !== 'events') {
      return item.kind;
    }
    let byPattern = this.batchKeys.get(item.fragment.slab);
    if (byPattern === undefined) {
      byPattern = new Map();
      this.batchKeys.set(item.fragment.slab, byPattern);
    }
    let key = byPattern.get(item.pattern);
    if (key === undefined) {
      key = {};
      byPattern.set(item.pattern, key);
    }
    return key;
  }

  protected override framesOf(batch: Outgoing[]): Frame | Frame[] {
    const first = batch[0];
    if (first.kind === 'bare') {
      return [first.pattern, first.payload];
    }
    const sequence = this.sequences.get(first.pattern) ?? 0;
    this.sequences.set(first.pattern, sequence + batch.length);
    return broadcastFrames(
      first.pattern,
      encodeStamp(this.publisherId, sequence),
      batch.map((item) => (item as { fragment: Fragment }).fragment),
    );
  }

  private async readSubscriptions(onChange: (change: SubscriptionChange) => void, problems: RateLimitedLog): Promise<void> {
    try {
      for await (const [message] of receiveLoop(this.managed.socket as zmq.XPublisher)) {
        const change = this.subscriptions.apply(message);
        if (change === undefined) {
          problems.warn(
            'subscription',
            `Socket "${this.name}" got a message that is not a subscription (${message.length} bytes); ignored`,
          );
        } else {
          onChange(change);
        }
      }
    } catch (error) {
      problems.error('read', `Socket "${this.name}" stopped reading subscriptions: ${(error as Error).message}`);
    }
  }
}
