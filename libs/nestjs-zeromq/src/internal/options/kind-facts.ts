import type { ZeroMqSocketKind } from '../../zeromq.options.js';
import type { CurveRole } from '../security/curve.js';

/**
 * What sets a socket kind apart, as plain facts: what options resolution checks and plans by, and
 * what socket options are built from. A SocketKind (internal/kinds) is these facts plus what the
 * kind creates; nothing branches on a kind's name.
 */
export interface KindFacts {
  readonly name: ZeroMqSocketKind;
  /** Whether `send()` requests and at-least-once deliveries can travel on it (replies come back). */
  readonly carriesReplies: boolean;
  /** Whether a route that asks for at-least-once and names no kind gets this one (one kind says so). */
  readonly impliedByAtLeastOnce: boolean;
  /** Whether a client route may send bare payload frames (no framing) to plain ZeroMQ peers. */
  readonly sendsBare: boolean;
  /** Whether the client opens one socket per endpoint, to tell the servers behind them apart. */
  readonly socketPerEndpoint: boolean;
  /**
   * Whether the client socket drops what is past its high-water mark (PUB) instead of blocking.
   * Its default `sendHighWaterMark` then stays ZeroMQ's 1000 messages: a smaller pipe would only
   * drop more of a burst, and there is no send queue behind it to bound.
   */
  readonly dropsPastHighWaterMark: boolean;
  /** Which of a side's CURVE roles its sockets take (see SideCurve). */
  readonly curveRole: CurveRole;
}

/** The facts of the kind options name: how option resolution is handed the kinds (internal/kinds/kinds.ts). */
export type KindLookup = (name: ZeroMqSocketKind) => KindFacts;
