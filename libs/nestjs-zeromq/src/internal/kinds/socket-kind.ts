import type * as zmq from 'zeromq';
import type { ZeroMqSocketKind } from '../../zeromq.options.js';
import type { Outbox, OutgoingError } from '../client/outbox.js';
import type { ClientSocketPlan, ResolvedClientOptions, ServerSocketPlan } from '../options/resolve-options.js';
import type { Inbox } from '../server/inbox.js';
import type { InboxHost } from '../server/inbox-host.js';
import type { ManagedSocket } from '../sockets/managed-socket.js';

/** zeromq.js constructor options, as `socketOptions()` builds them for either side. */
export type SocketOptions = Record<string, unknown>;

/**
 * Everything that differs between socket kinds, in one place: which ZeroMQ sockets each side
 * opens, which objects read and write them, and what the kind carries. The server, the client
 * and the options code ask the kind; none of them branches on its name. A new kind is one module
 * implementing this, listed in `kinds.ts`, plus its section in docs/protocol.md.
 */
export interface SocketKind {
  readonly name: ZeroMqSocketKind;
  /** Whether `send()` requests and at-least-once deliveries can travel on it (replies come back). */
  readonly carriesReplies: boolean;
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
  createServerSocket(options: SocketOptions): zmq.Socket;
  createInbox(managed: ManagedSocket<zmq.Socket, ServerSocketPlan>, host: InboxHost): Inbox;
  createClientSocket(options: SocketOptions): zmq.Socket;
  createOutbox(managed: ManagedSocket<zmq.Socket, ClientSocketPlan>, config: ResolvedClientOptions, toError: OutgoingError): Outbox;
}
