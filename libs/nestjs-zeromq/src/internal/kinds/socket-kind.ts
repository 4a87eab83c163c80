import type * as zmq from 'zeromq';
import type { Outbox, OutboxParts } from '../client/outbox.js';
import type { KindFacts } from '../options/kind-facts.js';
import type { ClientSocketPlan, ServerSocketPlan } from '../options/plans.js';
import type { Inbox } from '../server/inbox.js';
import type { InboxHost } from '../server/inbox-host.js';
import type { ManagedSocket } from '../sockets/managed-socket.js';

/** zeromq.js constructor options, as socket-options.ts builds them for either side. */
export type SocketOptions = Record<string, unknown>;

/**
 * Everything that differs between socket kinds, in one place: what the kind carries (its facts),
 * which ZeroMQ sockets each side opens, and which objects read and write them. The server, the
 * client, the options code and the CURVE roles ask the kind; none of them branches on its name. A
 * new kind is one module implementing this, listed in `kinds.ts`, its name in `ZeroMqSocketKind` and
 * `options/kind-names.ts` (the build fails until all three list it), plus its section in docs/protocol.md.
 */
export interface SocketKind extends KindFacts {
  createServerSocket(options: SocketOptions): zmq.Socket;
  createInbox(managed: ManagedSocket<zmq.Socket, ServerSocketPlan>, host: InboxHost): Inbox;
  createClientSocket(options: SocketOptions): zmq.Socket;
  createOutbox(managed: ManagedSocket<zmq.Socket, ClientSocketPlan>, parts: OutboxParts): Outbox;
}
