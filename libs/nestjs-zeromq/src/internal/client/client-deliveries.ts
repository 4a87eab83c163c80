import type { ZeroMqDeadLetter } from '../../zeromq.events.js';
import type { ZeroMqClientMetrics, ZeroMqOutboxMetrics } from '../../zeromq.metrics.js';
import type { ClientRoutePlan, ResolvedClientOptions } from '../options/plans.js';
import type { EncodedRecord } from '../protocol/wire.js';
import type { RateLimitedLog } from '../util/rate-limited-log.js';
import { createRouteTracker } from '../at-least-once/route-tracker.js';
import type { Delivery } from '../at-least-once/delivery.js';
import type { DeliveryTracker } from '../at-least-once/delivery-tracker.js';
import { ClientOutboxes } from '../at-least-once/outboxes.js';
import type { Outbox } from './outbox.js';

/** What ClientDeliveries needs from the ClientRoutes that own it. */
export interface ClientDeliveriesHost {
  readonly config: ResolvedClientOptions;
  readonly problems: RateLimitedLog;
  /** A message given up on: the client logs it and emits `dead-letter`. */
  deadLettered(letter: ZeroMqDeadLetter): void;
  /** The client's outbox of that name, while the route table holds it. */
  link(name: string): Outbox | undefined;
}

/** The at-least-once totals of `getMetrics()`. */
export type DeliveryTotals = Pick<
  ZeroMqClientMetrics,
  'acked' | 'redelivered' | 'deadLettered' | 'unacked' | 'replayed' | 'expired' | 'keysInFlight' | 'waitingBehindKey'
>;

/**
 * The client's at-least-once side: the durable outboxes (opened before any socket, closed after
 * the trackers), a tracker per at-least-once route, the dead-letter socket its letters are copied
 * to, the warnings about redeliveries and blocked keys, and their totals.
 */
export class ClientDeliveries {
  /** The dead-letter socket (`deadLetterEndpoints`), if the client has one. */
  deadLetters: Outbox | undefined;
  private outboxes: ClientOutboxes | undefined;

  constructor(private readonly host: ClientDeliveriesHost) {}

  /**
   * Opens the durable outboxes of the at-least-once routes that have one, before any socket: a
   * locked or damaged store fails `connect()` with nothing else open.
   */
  async openOutboxes(): Promise<void> {
    if (this.host.config.routes.some((plan) => plan.outbox !== undefined)) {
      this.outboxes = await ClientOutboxes.open(this.host.config.routes, (path, what, error) =>
        this.host.problems.error('outbox', `The outbox at ${path} failed a write (${what}): ${error.message}`),
      );
    }
  }

  /** Closes the durable outboxes (after the trackers drained, or a connect() that failed after opening them). */
  async closeOutboxes(): Promise<void> {
    const outboxes = this.outboxes;
    this.outboxes = undefined;
    await outboxes?.close();
  }

  /** The tracker of an at-least-once route over its sockets (by name); none for an at-most-once route. */
  trackerFor(plan: ClientRoutePlan, sockets: ReadonlyArray<{ readonly name: string }>): DeliveryTracker | undefined {
    if (plan.delivery !== 'at-least-once') {
      return undefined;
    }
    return createRouteTracker(
      plan.name,
      sockets,
      this.host.config,
      {
        onDeadLetter: (letter, record) => this.deadLetter(letter, record),
        onKeyBlocked: (pattern, id, reason) =>
          this.host.problems.warn(
            'keyBlocked',
            `"${pattern}" ${id} blocks its key (keyedPoison: 'block'; later messages of the key wait): ${reason}`,
          ),
        onLinkLost: (link, lost) => this.redelivering(link, lost),
        outboxNamed: (name) => this.host.link(name)?.replyCarrier,
      },
      this.outboxes?.of(plan.name),
    );
  }

  /** The trackers' and durable outboxes' share of `getMetrics()`. */
  totals(trackers: ReadonlyArray<DeliveryTracker | undefined>): DeliveryTotals & { outbox?: ZeroMqOutboxMetrics } {
    const delivery: DeliveryTotals = {
      acked: 0,
      redelivered: 0,
      deadLettered: 0,
      unacked: 0,
      replayed: 0,
      expired: 0,
      keysInFlight: 0,
      waitingBehindKey: 0,
    };
    for (const tracker of trackers) {
      if (tracker !== undefined) {
        delivery.acked += tracker.counters.acked;
        delivery.redelivered += tracker.counters.redelivered;
        delivery.deadLettered += tracker.counters.deadLettered;
        delivery.unacked += tracker.outstanding;
        delivery.replayed += tracker.counters.replayed;
        delivery.expired += tracker.counters.expired;
        delivery.keysInFlight += tracker.keys.inFlight;
        delivery.waitingBehindKey += tracker.keys.waiting;
      }
    }
    const outbox = this.outboxes?.metrics();
    return { ...delivery, ...(outbox === undefined ? {} : { outbox }) };
  }

  private deadLetter(letter: ZeroMqDeadLetter, record: EncodedRecord): void {
    this.host.deadLettered(letter);
    if (this.deadLetters !== undefined) {
      const metadata = { deadLetterReason: letter.reason, deadLetterAttempts: String(letter.attempts), messageId: letter.messageId };
      const info = record.info[0] + JSON.stringify(metadata);
      this.deadLetters.emit({ ...record, info, size: record.size + info.length }, { resolve: () => undefined, reject: () => undefined });
    }
  }

  /** Tells (rate-limited) that a lost worker's messages are sent again, and where they went. */
  private redelivering(link: string, lost: readonly Delivery[]): void {
    const addressesOf = (name: string) => this.host.link(name)?.managed.addresses.join(', ') ?? '';
    const resentTo = new Map<string, number>();
    for (const { link: to } of lost) {
      resentTo.set(to ?? '', (resentTo.get(to ?? '') ?? 0) + 1);
    }
    const where = [...resentTo].map(([to, count]) =>
      to === '' ? `${count} wait for a worker with credit` : `${count} to "${to}" (${addressesOf(to)})`,
    );
    this.host.problems.warn(
      'redelivering',
      `Lost the worker on "${link}" (${addressesOf(link)}) with ${lost.length} message(s) not acknowledged; redelivering them: ${where.join(', ')}`,
    );
  }
}
