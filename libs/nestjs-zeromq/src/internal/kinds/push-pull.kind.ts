import * as zmq from 'zeromq';
import { PushOutbox } from '../client/push-outbox.js';
import { PullInbox } from '../server/pull-inbox.js';
import type { SocketKind } from './socket-kind.js';

/**
 * `'push-pull'`: events only. The client's PUSH round-robins over the connected workers; the
 * server's PULL takes framed events and, with `plainMessages`, single frames from plain peers.
 */
export const PUSH_PULL: SocketKind = {
  name: 'push-pull',
  sendsBare: true,
  carriesReplies: false,
  impliedByAtLeastOnce: false,
  socketPerEndpoint: false,
  dropsPastHighWaterMark: false,
  curveRole: 'messaging',
  createServerSocket: (options) => new zmq.Pull(options),
  createInbox: (managed, host) => new PullInbox(managed, host, managed.plan.concurrency),
  createClientSocket: (options) => new zmq.Push(options),
  createOutbox: (managed, parts) => new PushOutbox(managed, parts),
};
