import { BaseRpcContext } from '@nestjs/microservices';
import type { PacketMetadata } from '@nestjs/microservices';

/** Where a message came from, beside its pattern and metadata. */
export interface ZeroMqMessageInfo {
  /** Name of the socket that received it (`'default'` or the route's name). */
  socket: string;
  /** Whether it came from a plain ZeroMQ peer (one frame, no framing) through `plainMessages`. */
  plain: boolean;
  /** At-least-once deliveries: the message id (producer id and sequence). */
  messageId?: string;
  /** At-least-once deliveries: this delivery's number (1 = first) and the most there will be. */
  attempt?: number;
  maxAttempts?: number;
  /** The message's key, if its producer gave it one. */
  key?: string;
}

export type ZeroMqContextArgs = [pattern: string, metadata: PacketMetadata | undefined, info: ZeroMqMessageInfo];

/**
 * Context of a message handled by a ZeroMqServer; handlers get it with `@Ctx()`.
 * @publicApi
 */
export class ZeroMqContext extends BaseRpcContext<ZeroMqContextArgs> {
  constructor(args: ZeroMqContextArgs) {
    super(args);
  }

  /** The message's pattern, normalized as Nest does (object patterns as key-sorted JSON). */
  getPattern(): string {
    return this.args[0];
  }

  /** Metadata the client attached to the packet (`ClientProxy#setOnDispatchHook`), if any. */
  getMetadata(): PacketMetadata | undefined {
    return this.args[1];
  }

  /** Name of the socket that received the message. */
  getSocketName(): string {
    return this.args[2].socket;
  }

  /** Whether the message came from a plain ZeroMQ peer rather than a ZeroMqClient. */
  isPlainMessage(): boolean {
    return this.args[2].plain;
  }

  /**
   * The message id of an at-least-once delivery (unique per producer and message; the same on
   * every redelivery), for idempotent handlers. Undefined for at-most-once events and requests.
   */
  getMessageId(): string | undefined {
    return this.args[2].messageId;
  }

  /**
   * The message's key (record builder `setKey`, or the client's `key` option), if it has one:
   * messages of one key from one producer reach their handlers in the order they were emitted.
   */
  getKey(): string | undefined {
    return this.args[2].key;
  }

  /** Which delivery of an at-least-once message this is: 1 the first, up to `maxAttempts`. 1 otherwise. */
  getAttempt(): number {
    return this.args[2].attempt ?? 1;
  }

  /** Whether no redelivery will follow if this handler fails (at-least-once). True otherwise. */
  isLastAttempt(): boolean {
    const { attempt, maxAttempts } = this.args[2];
    return attempt === undefined || maxAttempts === undefined || attempt >= maxAttempts;
  }
}
