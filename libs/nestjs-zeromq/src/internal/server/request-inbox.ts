import type { WritePacket } from '@nestjs/microservices';
import { isObservable, tap } from 'rxjs';
import type * as zmq from 'zeromq';
import { NO_MESSAGE_HANDLER } from '../../constants.js';
import { ZeroMqContext, type ZeroMqMessageInfo } from '../../zeromq.context.js';
import { encodeReply, replyOf, type DecodedMessage, type DecodedRequest, type EncodedReply } from '../protocol/wire.js';
import type { ServerSocketPlan } from '../options/plans.js';
import type { ManagedSocket } from '../sockets/managed-socket.js';
import { describeError } from './handler-run.js';
import { Inbox } from './inbox.js';
import type { InboxHost } from './inbox-host.js';
import { ReplyWriter } from './reply-writer.js';

/**
 * A ROUTER socket's inbox for what a DEALER asks: events as any inbox, plus `send()` requests,
 * answered through the ReplyWriter (one reply, or a stream as Nest's `handleRequest` produces
 * it). The base of RouterInbox, which adds at-least-once deliveries and acks them through the
 * same writer.
 */
export abstract class RequestInbox extends Inbox {
  protected override readonly routingFrames = 1;
  protected override readonly answersWaiting = (): boolean => this.replies.waiting > 0;
  readonly replies: ReplyWriter;
  protected readonly requestInfo: ZeroMqMessageInfo;

  constructor(managed: ManagedSocket<zmq.Socket, ServerSocketPlan>, host: InboxHost) {
    super(managed, host, managed.plan.concurrency);
    this.replies = new ReplyWriter(managed.socket as zmq.Router, managed.name);
    this.requestInfo = { socket: managed.name, plain: false };
  }

  /** Reads nothing more: a ROUTER stays attached for its replies, so what producers still send would never run out. */
  override async readRemaining(_timeout: number): Promise<void> {}

  /** Sends the replies still queued (at most `timeout` ms); counts those that could not go. */
  override async flush(timeout: number): Promise<void> {
    this.counters.add('repliesFailed', await this.replies.drain(timeout));
  }

  protected override receiveOther(message: Exclude<DecodedMessage, { kind: 'events' | 'plain' | 'malformed' }>, frames: Buffer[]): void {
    if (message.kind !== 'requests') {
      super.receiveOther(message, frames);
      return;
    }
    const peer = frames[0];
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

  /** Counts a request whose last reply is ready; reports its duration when it was timed (`started` > 0). */
  private requestEnded(context: ZeroMqContext, started: number, ok: boolean): void {
    this.counters.add(ok ? 'handled' : 'failed');
    if (started > 0) {
      this.host.emit('handler-end', context, performance.now() - started, ok ? 'success' : 'error');
    }
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

  private async sendReply(peer: Buffer, reply: EncodedReply): Promise<void> {
    try {
      await this.replies.send(peer, reply);
    } catch (error) {
      this.replyFailed(error as Error);
    }
  }

  /** Counts and logs a reply or ack that could not be sent. */
  protected replyFailed(error: Error): void {
    this.counters.add('repliesFailed');
    this.host.problems.warn('reply', error.message);
  }
}
