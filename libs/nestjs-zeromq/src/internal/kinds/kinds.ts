import type * as zmq from 'zeromq';
import type { ZeroMqSocketKind } from '../../zeromq.options.js';
import type { ResolvedClientOptions, ResolvedServerOptions, ServerSocketPlan, SocketPlan } from '../options/plans.js';
import { DEALER_ROUTER } from './dealer-router.kind.js';
import { PUB_SUB } from './pub-sub.kind.js';
import { PUSH_PULL } from './push-pull.kind.js';
import type { SocketKind } from './socket-kind.js';
import { clientSocketOptions, serverSocketOptions } from './socket-options.js';

/** Every socket kind, by the name options use. */
export const SOCKET_KINDS: Readonly<Record<ZeroMqSocketKind, SocketKind>> = {
  'push-pull': PUSH_PULL,
  'dealer-router': DEALER_ROUTER,
  'pub-sub': PUB_SUB,
};

/** A server socket for `plan`, made by its kind with the server's socket options. */
export function createServerSocket(
  config: ResolvedServerOptions,
  plan: Pick<ServerSocketPlan, 'kind' | 'receiveHighWaterMark'>,
): zmq.Socket {
  const kind = socketKind(plan.kind);
  return kind.createServerSocket(serverSocketOptions(config, plan, kind));
}

/** A client socket for `plan`, made by its kind with the client's socket options. */
export function createClientSocket(config: ResolvedClientOptions, plan: Pick<SocketPlan, 'kind'>): zmq.Socket {
  const kind = socketKind(plan.kind);
  return kind.createClientSocket(clientSocketOptions(config, kind));
}

/** The kind options name (also what option resolution is handed: see KindLookup). */
export function socketKind(name: ZeroMqSocketKind): SocketKind {
  return SOCKET_KINDS[name];
}
