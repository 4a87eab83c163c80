import type { MessageHandler, ReadPacket, WritePacket } from '@nestjs/microservices';
import type { Observable } from 'rxjs';
import type { ZeroMqContext } from '../../zeromq.context.js';
import type { ZeroMqDeadLetter, ZeroMqHandlerOutcome } from '../../zeromq.events.js';
import type { DecodedRecord } from '../protocol/wire.js';
import type { ResolvedServerOptions } from '../options/plans.js';
import type { RateLimitedLog } from '../util/rate-limited-log.js';
import type { CompletedIds } from './delivery-ledger.js';
import type { ServerState } from './server-state.js';

/** A received record as Nest sees it: its packet, its pattern (normalized) and that pattern's handler (null: none). */
export interface RoutedPacket {
  readonly packet: ReadPacket;
  readonly pattern: string;
  readonly handler: MessageHandler | null;
}

/**
 * What an inbox needs from the Nest server that owns it: Nest's handler lookup, processing hooks,
 * request handling and (de)serializers, and the server's options, state, log and events.
 * ZeroMqServer implements it; the inboxes never see the rest of the server. A received record
 * calls up once (`route`); what may change while the server runs is read from `state`.
 */
export interface InboxHost {
  readonly config: ResolvedServerOptions;
  /** The durable ledger of completed at-least-once ids (server option `ledger`), if any. */
  readonly completedIds: CompletedIds | undefined;
  readonly problems: RateLimitedLog;
  /** Closing, timed, hooked: kept current by the server. */
  readonly state: ServerState;
  /**
   * Deserializes a record (Nest deserializer) and finds its pattern's handler (Nest's lookup and
   * ours); throws, or rejects, when the deserializer does.
   */
  route(record: DecodedRecord): RoutedPacket | Promise<RoutedPacket>;
  /** The patterns of the server's `@EventPattern` handlers (what a SUB socket subscribes to). */
  eventPatterns(): string[];
  serialize(response: WritePacket & { id: string }): unknown;
  runWithProcessingHooks(context: ZeroMqContext, run: (runEndHook: () => void) => Promise<void>): unknown;
  handleRequest(
    context: ZeroMqContext,
    produce: () => Promise<Observable<unknown>>,
    respond: (packet: WritePacket) => Promise<unknown> | void,
  ): unknown;
  toObservable(value: unknown): Observable<unknown>;
  /** Emits one of the server's own (non-socket) events: 'error', 'dead-letter', 'handler-error', 'handler-end'. */
  emit(event: 'error', error: unknown): void;
  emit(event: 'dead-letter', letter: ZeroMqDeadLetter): void;
  emit(event: 'handler-error', error: unknown, context: ZeroMqContext): void;
  emit(event: 'handler-end', context: ZeroMqContext, durationMs: number, outcome: ZeroMqHandlerOutcome): void;
}
