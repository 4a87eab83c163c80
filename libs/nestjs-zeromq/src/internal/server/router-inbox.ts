import type * as zmq from 'zeromq';
import { MAX_REMEMBERED_PRODUCERS } from '../../constants.js';
import { ZeroMqContext, type ZeroMqMessageInfo } from '../../zeromq.context.js';
import type { ZeroMqDeadLetter } from '../../zeromq.events.js';
import { EXPIRED, encodeReply, keyOf, type DecodedDelivery, type DecodedMessage, type DeliveryStatus } from '../protocol/wire.js';
import type { ManagedSocket } from '../sockets/managed-socket.js';
import type { Settle } from '../sockets/send-queue.js';
import type { ServerSocketPlan } from '../options/plans.js';
import { BoundedMap } from '../util/bounded-map.js';
import { logDeadLetter } from '../util/dead-letter-log.js';
import { DeliveryLedger } from './delivery-ledger.js';
import { describeError } from './handler-run.js';
import type { InboxHost } from './inbox-host.js';
import { RequestInbox } from './request-inbox.js';

/**
 * A ROUTER socket's inbox: events and `send()` requests as a RequestInbox, plus at-least-once
 * deliveries (hello → credit, run once per id, ack / fail / refuse) answered through its
 * ReplyWriter.
 */
export class RouterInbox extends RequestInbox {
  /** Producers that said hello: told "credit 0" on close. */
  private readonly producers = new BoundedMap<string, Buffer>(MAX_REMEMBERED_PRODUCERS);
  /** Deliveries running and completed here: redeliveries are not run twice. */
  private readonly ledger: DeliveryLedger;
  /** At-least-once deliveries a producer may have unacknowledged here. */
  private readonly credit: number;

  constructor(managed: ManagedSocket<zmq.Socket, ServerSocketPlan>, host: InboxHost) {
    super(managed, host);
    this.credit = managed.plan.credit;
    this.ledger = new DeliveryLedger(host.config.dedupeWindow, host.completedIds);
  }

  /**
   * Tells every producer that said hello to send no more deliveries here. The socket stays
   * attached: replies and acks of the handlers still running must reach their peers.
   */
  override stopTaking(): void {
    for (const peer of this.producers.values()) {
      void this.replies.sendCredit(peer, 0).catch(() => undefined);
    }
    this.counters.add('droppedOnClose', this.dispatcher.dropWaiting());
  }

  protected override receiveOther(message: Exclude<DecodedMessage, { kind: 'events' | 'plain' | 'malformed' }>, frames: Buffer[]): void {
    const peer = frames[0];
    switch (message.kind) {
      case 'hello':
        this.producers.set(peer.toString('latin1'), peer);
        void this.replies.sendCredit(peer, this.state.closing ? 0 : this.credit).catch((error: Error) => {
          this.host.problems.warn('reply', error.message);
        });
        return;
      case 'deliveries': {
        if (!this.producers.has(peer.toString('latin1'))) {
          this.unheard(peer, message);
          return;
        }
        this.rejectRecords(message.rejected);
        for (const { id, reason } of message.rejected) {
          if (id !== undefined) {
            this.deadLetter({ pattern: '?', messageId: id, attempts: 0, reason: `undecodable: ${reason}` });
            this.acknowledge(peer, id, 'x', reason);
          }
        }
        const bytes = this.bytesPerRecord(message.records.length);
        for (const delivery of message.records) {
          this.admit(() => this.handleDelivery(delivery, peer), bytes);
        }
        return;
      }
      default:
        super.receiveOther(message, frames);
    }
  }

  /**
   * Deliveries on a connection that has not said hello are not run: ZeroMQ sends what a producer's
   * socket still held when its connection dropped over the next connection, before that
   * connection's hello, and by then the producer has sent those messages again elsewhere (a
   * restarted worker would run them again after later messages of their key). Each is answered
   * 'h' so that a producer this worker forgot (more than MAX_REMEMBERED_PRODUCERS connections
   * since its hello) greets it again and resends them.
   */
  private unheard(peer: Buffer, message: Extract<DecodedMessage, { kind: 'deliveries' }>): void {
    const records = [...message.records, ...message.rejected];
    this.counters.add('beforeHello', records.length);
    for (const { id } of records) {
      if (id !== undefined) {
        this.acknowledge(peer, id, 'h');
      }
    }
  }

  /**
   * Runs an at-least-once delivery at most once at a time and acks it once its handler succeeded;
   * a failure is reported ('f', the producer retries) and a delivery that cannot succeed here is
   * refused for good ('x'). A redelivery of a handled message is acked without running again; one
   * that comes while the first run is going gets that run's answer (on its own connection too).
   */
  private handleDelivery(delivery: DecodedDelivery, peer: Buffer): Promise<void> {
    const { id } = delivery;
    const admission = this.ledger.admit(id, peer);
    if (admission !== 'run') {
      this.counters.add('duplicates');
      if (admission === 'ack-again') {
        this.acknowledge(peer, id, 'a');
      }
      return NOTHING_TO_RUN;
    }
    // Chained on the run, not awaited in an async function: one promise and one turn less per delivery.
    return this.runDelivery(delivery).then(
      (answer) => this.answerRun(id, answer),
      (error: unknown) => {
        // A run that threw (nothing to answer) is still no longer running: a redelivery runs it again.
        this.ledger.finish(id, false);
        throw error;
      },
    );
  }

  /** A run ended: every peer that sent its id hears the answer, each once. */
  private answerRun(id: string, answer: DeliveryAnswer): void {
    for (const asker of this.ledger.finish(id, answer === ACKED)) {
      this.acknowledge(asker, id, answer.status, answer.reason);
    }
  }

  /** Runs a delivery's handler (unless it expired or cannot run here) and says how to answer it. */
  private async runDelivery(delivery: DecodedDelivery): Promise<DeliveryAnswer> {
    const { id, attempt, maxAttempts } = delivery;
    if (this.expired(delivery)) {
      return { status: 'x', reason: EXPIRED };
    }
    const maybeRouted = this.routed(delivery);
    const routed = maybeRouted instanceof Promise ? await maybeRouted : maybeRouted;
    const packet = routed?.packet;
    const pattern = routed === undefined ? delivery.pattern : routed.pattern;
    const handler = routed === undefined ? null : routed.handler;
    if (packet === undefined || handler === null) {
      if (packet !== undefined) {
        this.unknownEvent(pattern);
      }
      const reason = packet === undefined ? 'undecodable' : 'no handler';
      this.deadLetter({ pattern, messageId: id, attempts: attempt, reason });
      return { status: 'x', reason };
    }
    // Built field by field: a spread of the socket's info costs more than the rest of the run here.
    const info: ZeroMqMessageInfo = { socket: this.name, plain: false, messageId: id, attempt, maxAttempts };
    const key = keyOf(delivery.metadata);
    if (key !== undefined) {
      info.key = key;
    }
    const outcome = await this.run(handler, packet.data, new ZeroMqContext([pattern, packet.metadata, info]));
    if (outcome.ok) {
      this.counters.add('handled');
      const persisted = this.ledger.persist(id);
      if (persisted !== undefined) {
        await persisted.catch((error: unknown) =>
          this.host.problems.error('ledger', `The ledger could not write ${id} (acked all the same): ${(error as Error).message}`),
        );
      }
      return ACKED;
    }
    this.counters.add('failed');
    const reason = failureReason(outcome.error);
    if (attempt >= maxAttempts) {
      this.deadLetter({ pattern, messageId: id, attempts: attempt, reason });
    }
    return { status: 'f', reason };
  }

  private deadLetter(letter: ZeroMqDeadLetter): void {
    this.counters.add('deadLettered');
    logDeadLetter(this.host.problems, letter);
    this.host.emit('dead-letter', letter);
  }

  /**
   * Queues the answer to an at-least-once delivery: 'a' handled, 'f' failed (may be retried), 'x'
   * refused for good. Nothing waits for its send (a close flushes the writer), so it takes no
   * promise: `ackSent` hears how every ack's send ended.
   */
  private acknowledge(peer: Buffer, id: string, status: DeliveryStatus, reason?: string): void {
    this.replies.push(peer, encodeReply(id, status, reason), this.ackSent);
  }

  private readonly ackSent: Settle = { resolve: () => undefined, reject: (error) => this.replyFailed(error) };
}

/** How a delivery's run is answered: 'a' handled, 'f' failed (may be retried), 'x' refused for good. */
interface DeliveryAnswer {
  readonly status: Exclude<DeliveryStatus, 'h'>;
  readonly reason?: string;
}

const ACKED: DeliveryAnswer = { status: 'a' };

const NOTHING_TO_RUN = Promise.resolve();

/** What Nest's exception filter makes of an error that is not an RpcException (it logs the original). */
const NEST_HIDDEN_ERROR = 'Internal server error';

/**
 * The reason a failed delivery is reported with: the handler's message when Nest passed it on (an
 * RpcException's), else where the message is and how to send it.
 */
function failureReason(error: unknown): string {
  const reason = describeError(error);
  return reason === NEST_HIDDEN_ERROR
    ? `${reason}: Nest's exception filter hides the handler's error (logged on the worker by RpcExceptionsHandler); ` +
        'throw an RpcException, or use an exception filter, to pass its message here'
    : reason;
}
