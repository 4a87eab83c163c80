import type { WritePacket } from '@nestjs/microservices';
import { isObservable, tap } from 'rxjs';
import type * as zmq from 'zeromq';
import { MAX_REMEMBERED_PRODUCERS, NO_MESSAGE_HANDLER } from '../../constants.js';
import { ZeroMqContext, type ZeroMqMessageInfo } from '../../zeromq.context.js';
import type { ZeroMqDeadLetter } from '../../zeromq.events.js';
import {
  EXPIRED,
  encodeReply,
  replyOf,
  type DecodedDelivery,
  type DecodedMessage,
  type DecodedRequest,
  type EncodedReply,
} from '../protocol/wire.js';
import type { ManagedSocket } from '../sockets/managed-socket.js';
import type { Settle } from '../sockets/send-queue.js';
import type { ServerSocketPlan } from '../options/plans.js';
import { BoundedMap } from '../util/bounded-map.js';
import { logDeadLetter } from '../util/dead-letter-log.js';
import { DeliveryLedger } from './delivery-ledger.js';
import { describeError } from './handler-run.js';
import { Inbox } from './inbox.js';
import type { InboxHost } from './inbox-host.js';
import { ReplyWriter } from './reply-writer.js';

/**
 * A ROUTER socket's inbox: events as any inbox, plus `send()` requests (answered through the
 * ReplyWriter, streamed as Nest's `handleRequest` produces them) and at-least-once deliveries
 * (hello → credit, run once per id, ack / fail / refuse).
 */
export class RouterInbox extends Inbox {
  protected override readonly routingFrames = 1;
  protected override readonly answersWaiting = (): boolean => this.replies.waiting > 0;
  readonly replies: ReplyWriter;
  /** Producers that said hello: told "credit 0" on close. */
  private readonly producers = new BoundedMap<string, Buffer>(MAX_REMEMBERED_PRODUCERS);
  /** Deliveries running and completed here: redeliveries are not run twice. */
  private readonly ledger: DeliveryLedger;
  private readonly requestInfo: ZeroMqMessageInfo;
  /** At-least-once deliveries a producer may have unacknowledged here. */
  private readonly credit: number;

  constructor(managed: ManagedSocket<zmq.Socket, ServerSocketPlan>, host: InboxHost) {
    super(managed, host, managed.plan.concurrency);
    this.credit = managed.plan.credit;
    this.replies = new ReplyWriter(managed.socket as zmq.Router, managed.name);
    this.ledger = new DeliveryLedger(host.config.dedupeWindow, host.completedIds);
    this.requestInfo = { socket: managed.name, plain: false };
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

  /** Reads nothing more: a ROUTER stays attached for its replies, so what producers still send would never run out. */
  override async readRemaining(_timeout: number): Promise<void> {}

  /** Sends the replies still queued (at most `timeout` ms); counts those that could not go. */
  override async flush(timeout: number): Promise<void> {
    this.counters.add('repliesFailed', await this.replies.drain(timeout));
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
      case 'requests': {
        this.rejectRecords(message.rejected);
        for (const { id, reason } of message.rejected) {
          if (id !== undefined) {
            void this.reply(peer, id, { err: { status: 'error', message: `Undecodable request: ${reason}` } });
          }
        }
        const bytes = this.bytesPerRecord(message.records.length);
        for (const request of message.records) {
          this.admit(() => this.answer(request, peer), bytes);
        }
        return;
      }
      case 'deliveries': {
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
   * Runs a request's handler and answers it (see `stream` for Nest's way) and resolves once the
   * last reply is queued, so that it counts as in flight until then.
   */
  private async answer(request: DecodedRequest, peer: Buffer): Promise<void> {
    const maybeRouted = this.routed(request);
    const routed = maybeRouted instanceof Promise ? await maybeRouted : maybeRouted;
    if (routed === undefined) {
      await this.reply(peer, request.id, { err: { status: 'error', message: 'Undecodable request' } });
      return;
    }
    const { packet, pattern, handler } = routed;
    if (handler === null) {
      this.unknownPattern(pattern, `${NO_MESSAGE_HANDLER} Message pattern:`);
      await this.reply(peer, request.id, { err: NO_MESSAGE_HANDLER, isDisposed: true });
      return;
    }
    const context = new ZeroMqContext([pattern, packet.metadata, this.requestInfo]);
    const started = this.state.timed ? performance.now() : 0;
    if (!this.state.hooked) {
      // Without processing hooks, a handler that returns a value (or a promise of one) is answered
      // with one reply, as Nest's stream machinery would answer it (the value, disposed), without
      // building that machinery. An Observable (a stream, an interceptor, an exception filter's
      // error) goes Nest's way below.
      let result: unknown;
      try {
        result = await handler(packet.data, context);
      } catch (error) {
        // As Nest's way would have it: a handler that throws past Nest's exception layer.
        await this.stream(context, peer, request.id, started, () => Promise.reject(error));
        return;
      }
      if (!isObservable(result)) {
        this.requestEnded(context, started, true);
        await this.reply(peer, request.id, { response: result, isDisposed: true });
        return;
      }
      await this.stream(context, peer, request.id, started, () => result);
      return;
    }
    await this.stream(context, peer, request.id, started, () => handler(packet.data, context));
  }

  /**
   * Answers a request through Nest's `handleRequest` (processing hooks, response stream, replies in
   * order, completion) and resolves once the stream has ended; `call` gives the handler's result
   * (calls the handler, or hands over what it returned already).
   */
  private async stream(context: ZeroMqContext, peer: Buffer, id: string, started: number, call: () => unknown): Promise<void> {
    await new Promise<void>((resolve) => {
      const respond = (response: WritePacket) => {
        const last = response.isDisposed === true || response.err !== undefined;
        if (last) {
          this.requestEnded(context, started, response.err === undefined);
        }
        return this.reply(peer, id, response).finally(() => last && resolve());
      };
      const produce = async () =>
        this.host.toObservable(await call()).pipe(tap({ error: (error: unknown) => this.host.emit('handler-error', error, context) }));
      const run = this.host.handleRequest(context, produce, respond);
      if (run instanceof Promise) {
        run.catch((error: unknown) => {
          this.host.problems.error('hook', `A request handler could not run: ${describeError(error)}`);
          void respond({ err: { status: 'error', message: 'Internal server error' } });
        });
      }
    });
  }

  /**
   * Runs an at-least-once delivery at most once at a time and acks it once its handler succeeded;
   * a failure is reported ('f', the producer retries) and a delivery that cannot succeed here is
   * refused for good ('x'). A redelivery of a handled message is acked without running again; one
   * that comes while the first run is going gets that run's answer (on its own connection too).
   */
  private async handleDelivery(delivery: DecodedDelivery, peer: Buffer): Promise<void> {
    const { id } = delivery;
    const admission = this.ledger.admit(id, peer);
    if (admission !== 'run') {
      this.counters.add('duplicates');
      if (admission === 'ack-again') {
        this.acknowledge(peer, id, 'a');
      }
      return;
    }
    let answer: DeliveryAnswer | undefined;
    try {
      answer = await this.runDelivery(delivery);
    } finally {
      // A run that threw (nothing to answer) is still no longer running: a redelivery runs it again.
      const askers = this.ledger.finish(id, answer === ACKED);
      if (answer !== undefined) {
        for (const asker of askers) {
          this.acknowledge(asker, id, answer.status, answer.reason);
        }
      }
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
    const info = { ...this.withKey(this.requestInfo, delivery), messageId: id, attempt, maxAttempts };
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

  /** Counts a request whose last reply is ready; reports its duration when it was timed (`started` > 0). */
  private requestEnded(context: ZeroMqContext, started: number, ok: boolean): void {
    this.counters.add(ok ? 'handled' : 'failed');
    if (started > 0) {
      this.host.emit('handler-end', context, performance.now() - started, ok ? 'success' : 'error');
    }
  }

  private deadLetter(letter: ZeroMqDeadLetter): void {
    this.counters.add('deadLettered');
    logDeadLetter(this.host.problems, letter);
    this.host.emit('dead-letter', letter);
  }

  /** Serializes a response packet (Nest serializer) and queues it for the requesting peer. */
  private async reply(peer: Buffer, id: string, response: WritePacket): Promise<void> {
    const serialized = this.host.serialize({ ...response, id });
    const { status, payload } = replyOf((serialized instanceof Promise ? await serialized : serialized) as WritePacket);
    let encoded: EncodedReply;
    try {
      encoded = encodeReply(id, status, payload);
    } catch (error) {
      encoded = encodeReply(id, 'e', { status: 'error', message: `Response not serializable: ${(error as Error).message}` });
    }
    await this.sendReply(peer, encoded);
  }

  /**
   * Queues the answer to an at-least-once delivery: 'a' handled, 'f' failed (may be retried), 'x'
   * refused for good. Nothing waits for its send (a close flushes the writer), so it takes no
   * promise: `ackSent` hears how every ack's send ended.
   */
  private acknowledge(peer: Buffer, id: string, status: 'a' | 'f' | 'x', reason?: string): void {
    this.replies.push(peer, encodeReply(id, status, reason), this.ackSent);
  }

  private readonly ackSent: Settle = { resolve: () => undefined, reject: (error) => this.replyFailed(error) };

  private async sendReply(peer: Buffer, reply: EncodedReply): Promise<void> {
    try {
      await this.replies.send(peer, reply);
    } catch (error) {
      this.replyFailed(error as Error);
    }
  }

  private replyFailed(error: Error): void {
    this.counters.add('repliesFailed');
    this.host.problems.warn('reply', error.message);
  }
}

/** How a delivery's run is answered: 'a' handled, 'f' failed (may be retried), 'x' refused for good. */
interface DeliveryAnswer {
  readonly status: 'a' | 'f' | 'x';
  readonly reason?: string;
}

const ACKED: DeliveryAnswer = { status: 'a' };

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
