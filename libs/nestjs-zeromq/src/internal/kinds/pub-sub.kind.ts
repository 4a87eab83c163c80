import * as zmq from 'zeromq';
import { PubSubOutbox } from '../client/pub-sub-outbox.js';
import { SubInbox } from '../server/sub-inbox.js';
import type { SocketKind } from './socket-kind.js';

/**
 * `'pub-sub'`: broadcast events. The client's XPUB sends every emit to each subscriber that holds
 * a matching subscription (and sees the subscriptions, to count subscribers); the server's SUB
 * subscribes to its handlers' patterns. At most once, in order per publisher; a slow subscriber
 * loses what is past its high-water mark and never slows the publisher.
 */
export const PUB_SUB: SocketKind = {
  name: 'pub-sub',
  sendsBare: true,
  carriesReplies: false,
  impliedByAtLeastOnce: false,
  socketPerEndpoint: false,
  dropsPastHighWaterMark: true,
  curveRole: 'broadcast',
  createServerSocket: (options) => new zmq.Subscriber(options),
  createInbox: (managed, host) => new SubInbox(managed, host, managed.plan.concurrency),
  // Every subscription and unsubscription reaches the publisher (not only a topic's first and last).
  createClientSocket: (options) => new zmq.XPublisher({ ...options, verbosity: 'allSubsUnsubs' }),
  createOutbox: (managed, parts) => new PubSubOutbox(managed, parts),
};
