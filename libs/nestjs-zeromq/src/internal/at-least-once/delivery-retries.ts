import { afterUnreadIsRead } from '../util/unread-grace.js';
import type { Delivery, DeliveryTrackerOptions } from './delivery.js';
import type { DeliveryEndings } from './delivery-endings.js';
import { failureOutcome } from './delivery-failures.js';
import type { DeliveryLinks } from './delivery-links.js';
import type { OutstandingDeliveries } from './outstanding-deliveries.js';
import type { WaitingDeliveries } from './waiting-deliveries.js';

type RetryOptions = Pick<
  DeliveryTrackerOptions,
  'ackTimeout' | 'lostLinkGrace' | 'unread' | 'onLinkLost' | 'maxAttempts' | 'retryDelay' | 'maxRetryDelay' | 'keyedPoison' | 'onKeyBlocked'
>;

/**
 * What becomes of a tracker's deliveries that were not acked: a worker's failure sends one again
 * after its back-off or dead-letters it (`failed`), the ack sweep gives up on those past their ack
 * deadline, a lost link's are sent again after its grace (`resendLost`), and each goes back to the
 * front of the line (`requeue`). It owns the tracker's timers (back-offs, graces, the sweep) until
 * `close`. Apart from the tracker, which takes, sends and answers messages: the failure rules and
 * their timers read in one place, and reach the tracker only through its parts and `pump`. A send
 * the socket refused stays with the tracker: it answers the tracker's own send (and its credit).
 */
export class DeliveryRetries {
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly links: DeliveryLinks,
    private readonly deliveries: OutstandingDeliveries,
    private readonly waiting: WaitingDeliveries,
    private readonly endings: DeliveryEndings,
    private readonly options: RetryOptions,
    /** Sends what waits while workers have free credit (the tracker's). */
    private readonly pump: () => void,
  ) {
    // Checks ack deadlines; unref'd: the sockets, not this timer, keep a process alive.
    this.sweeper = setInterval(() => this.expire(), Math.max(20, Math.min(1_000, options.ackTimeout / 4)));
    this.sweeper.unref();
  }

  /** Its worker failed the delivery ('f'), or refused it for good ('x'): it is sent again after a back-off, or dead-lettered. */
  failed(delivery: Delivery, reason: string, refused: boolean): void {
    const outcome = failureOutcome(delivery, { reason, refused, timedOut: false }, Date.now(), this.options);
    if ('deadLetter' in outcome) {
      this.endings.deadLetter(delivery, outcome.deadLetter);
    } else {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        this.requeue(delivery);
      }, outcome.retryAfter);
      this.timers.add(timer);
    }
  }

  /** What a link had in flight when it was lost (at `lostAt`) goes to others, after `lostLinkGrace` (unless acked meanwhile). */
  resendLost(linkName: string, lostAt: number): void {
    const resend = () => {
      // Only what was sent before the loss: the link may be back and busy again by now.
      const lost = this.deliveries.sentOn(linkName, lostAt, this.options.ackTimeout);
      for (const delivery of lost) {
        this.endings.release(delivery);
      }
      this.requeue(...lost);
      const resent = lost.filter((delivery) => delivery.acked !== true);
      if (resent.length > 0) {
        this.options.onLinkLost?.(linkName, resent);
      }
    };
    if (this.options.lostLinkGrace === 0) {
      resend();
      return;
    }
    afterUnreadIsRead(
      () => this.options.unread?.(linkName) === true,
      this.options.lostLinkGrace,
      this.options.ackTimeout,
      this.timers,
      resend,
    );
  }

  /** Back to the front of the line (it is older than what waits), if still outstanding and not acked. */
  requeue(...deliveries: Delivery[]): void {
    let moved = false;
    for (const delivery of deliveries) {
      if (delivery.acked === true && this.deliveries.holds(delivery)) {
        // Its repeat was lost or refused: an earlier attempt was acked, so it is done (its key moves on).
        this.endings.forget(delivery);
        moved = true;
      }
    }
    const alive = deliveries.filter((delivery) => this.deliveries.holds(delivery));
    if (alive.length > 0) {
      this.waiting.requeue(alive);
      moved = true;
    }
    if (moved) {
      this.pump();
    }
  }

  /** Stops the sweep and every pending back-off and grace (the tracker is closing). */
  close(): void {
    clearInterval(this.sweeper);
    for (const timer of this.timers) {
      clearTimeout(timer);
    }
    this.timers.clear();
  }

  /**
   * Gives up on what was not acked within `ackTimeout` (sent again, or dead-lettered), and
   * dead-letters what expired while waiting. A timed-out delivery keeps its unit of credit at its
   * worker until that worker answers it or its connection drops: a stalled worker whose
   * connection stays up (its ZeroMQ thread answers heartbeats) is then sent nothing new.
   */
  private expire(): void {
    const now = Date.now();
    const late = this.deliveries.late(now);
    const reason = `not acknowledged within ${this.options.ackTimeout} ms (ackTimeout)`;
    const again: Delivery[] = [];
    for (const delivery of late) {
      if (delivery.link !== undefined) {
        if (this.links.heldLate(delivery.link, delivery.id, delivery.ackDeadline - this.options.ackTimeout)) {
          this.endings.leaveLink(delivery);
        } else {
          this.endings.release(delivery);
        }
      }
      if (delivery.acked === true) {
        this.endings.forget(delivery);
        continue;
      }
      const outcome = failureOutcome(delivery, { reason, refused: false, timedOut: true }, now, this.options);
      if ('deadLetter' in outcome) {
        this.endings.deadLetter(delivery, outcome.deadLetter);
      } else {
        again.push(delivery);
      }
    }
    // In one call: each requeue goes to the front, and they keep their order.
    this.requeue(...again);
    if (late.length > 0) {
      this.pump();
    }
  }
}
