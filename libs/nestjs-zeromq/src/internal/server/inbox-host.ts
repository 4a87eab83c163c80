import type { MessageHandler, MsPattern, ReadPacket, WritePacket } from '@nestjs/microservices';
import type { Observable } from 'rxjs';
import type { ZeroMqContext } from '../../zeromq.context.js';
import type { ZeroMqDeadLetter, ZeroMqHandlerOutcome } from '../../zeromq.events.js';
import type { DecodedRecord } from '../protocol/wire.js';
import type { ResolvedServerOptions } from '../options/plans.js';
import type { RateLimitedLog } from '../util/rate-limited-log.js';
import type { CompletedIds } from './delivery-ledger.js';

/**
 * What an inbox needs from the Nest server that owns it: Nest's handler lookup, processing hooks,
 * request handling and (de)serializers, and the server's options, log and events. ZeroMqServer
 * implements it; the inboxes never see the rest of the server.
 */
export interface InboxHost {
  readonly config: ResolvedServerOptions;
  /** The durable ledger of completed at-least-once ids (server option `ledger`), if any. */
  readonly completedIds: CompletedIds | undefined;
  readonly problems: RateLimitedLog;
  /** True once `close()` was called: nothing new starts. */
  readonly closing: boolean;
  handlerFor(pattern: string): MessageHandler | null;
  /** The patterns of the server's `@EventPattern` handlers (what a SUB socket subscribes to). */
  eventPatterns(): string[];
  normalizePattern(pattern: MsPattern): string;
  deserialize(record: DecodedRecord): ReadPacket | Promise<ReadPacket>;
  serialize(response: WritePacket & { id: string }): unknown;
  /** Whether processing hooks were set (`setOnProcessingStartHook`): if not, handlers are called directly. */
  readonly hooked: boolean;
  runWithProcessingHooks(context: ZeroMqContext, run: (runEndHook: () => void) => Promise<void>): unknown;
  handleRequest(
    context: ZeroMqContext,
    produce: () => Promise<Observable<unknown>>,
    respond: (packet: WritePacket) => Promise<unknown> | void,
  ): unknown;
  toObservable(value: unknown): Observable<unknown>;
  /** Whether something listens to 'handler-end': only then are handlers timed. */
  readonly timed: boolean;
  /** Emits one of the server's own (non-socket) events: 'error', 'dead-letter', 'handler-error', 'handler-end'. */
  emit(event: 'error', error: unknown): void;
  emit(event: 'dead-letter', letter: ZeroMqDeadLetter): void;
  emit(event: 'handler-error', error: unknown, context: ZeroMqContext): void;
  emit(event: 'handler-end', context: ZeroMqContext, durationMs: number, outcome: ZeroMqHandlerOutcome): void;
}
