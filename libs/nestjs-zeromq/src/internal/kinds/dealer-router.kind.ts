import * as zmq from 'zeromq';
import { DealerOutbox } from '../client/dealer-outbox.js';
import { RouterInbox } from '../server/router-inbox.js';
import type { SocketKind } from './socket-kind.js';

/**
 * `'dealer-router'`: events, `send()` requests and at-least-once deliveries, with replies, acks
 * and credit flowing back. The client opens one DEALER per endpoint so that it knows which server
 * holds which request or delivery (and can fail or resend them when that server goes).
 */
export const DEALER_ROUTER: SocketKind = {
  name: 'dealer-router',
  sendsBare: false,
  carriesReplies: true,
  impliedByAtLeastOnce: true,
  socketPerEndpoint: true,
  dropsPastHighWaterMark: false,
  curveRole: 'messaging',
  createServerSocket: (options) => new zmq.Router(options),
  createInbox: (managed, host) => new RouterInbox(managed, host),
  // Never `immediate`: with it, libzmq drops what a server sent but the DEALER has not read yet the
  // moment that server disconnects, and a draining server's last replies and acks come just
  // before it does. Credit keeps deliveries off a server that is down; requests prefer connected ones.
  createClientSocket: (options) => new zmq.Dealer({ ...options, immediate: false }),
  createOutbox: (managed, parts) => new DealerOutbox(managed, parts),
};
