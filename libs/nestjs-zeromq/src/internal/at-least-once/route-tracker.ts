import { ZeroMqSendError } from '../../zeromq.errors.js';
import type { ZeroMqDeadLetter } from '../../zeromq.events.js';
import type { ResolvedClientOptions } from '../options/plans.js';
import type { ParsedOutboxOptions } from '../options/schemas.js';
import {
  deliveredRecord,
  fragmentFields,
  FragmentWriter,
  recordFields,
  storedData,
  storedDelivery,
  type EncodedRecord,
} from '../protocol/wire.js';
import type { DeliveryStore } from './delivery-store.js';
import type { Delivery } from './delivery.js';
import type { Settle } from '../sockets/send-queue.js';
import { DeliveryTracker } from './delivery-tracker.js';

/**
 * Bytes of the slabs at-least-once messages are packed into. A slab stays allocated until every
 * message in it is acked, so one message a slow worker holds keeps its whole slab: small slabs
 * bound that (a worker holding its full default credit of 500 pins at most 500 slabs: 64 KiB each, or a
 * larger message's own size).
 */
const DELIVERY_SLAB_BYTES = 64 * 1024;

/** Milliseconds a lost worker's acks already received may still be read before its deliveries are resent. */
export const LOST_LINK_GRACE = 300;

/** What a route's tracker sends over (a DEALER outbox: see ReplyCarrier). */
export interface DeliverySocket {
  /** Queues one delivery (packed by the tracker); `done` hears whether ZeroMQ took it. */
  deliver(delivery: Delivery, done: Settle): void;
  /** Greets the worker so that it announces its credit. */
  hello(producerId: string): Promise<void>;
  /** Whether its socket still holds messages not read (acks of a lost worker). */
  readonly managed: { readonly socket: { readonly readable: boolean } };
}

/** What an at-least-once route reports to its client. */
export interface DeliveryEvents {
  onDeadLetter(letter: ZeroMqDeadLetter, record: EncodedRecord): void;
  /** A lost worker's unacknowledged messages were sent again (see DeliveryTrackerOptions.onLinkLost). */
  onLinkLost(link: string, lost: readonly Delivery[]): void;
  /** The route's outbox of that name, if it still has it (DNS discovery adds and removes outboxes). */
  outboxNamed(name: string): DeliverySocket | undefined;
  /** A keyed message blocks its key (`keyedPoison: 'block'`): told once per message. */
  onKeyBlocked(pattern: string, id: string, reason: string): void;
}

/**
 * The DeliveryTracker of an at-least-once route over its DEALER sockets, set up from the client's
 * options: how its messages are packed (slabs), which errors its emits fail with, and where it
 * sends (the outbox of a link, by name, greeting a worker whose credit was lost). The tracker
 * holds the route's messages until a worker acks them. The outboxes are created with it (acks and
 * credit arrive there): see OutboxParts.
 */
export function createRouteTracker(
  routeName: string,
  sockets: ReadonlyArray<{ readonly name: string }>,
  config: ResolvedClientOptions,
  events: DeliveryEvents,
  outbox?: { store: DeliveryStore; options: ParsedOutboxOptions },
): DeliveryTracker {
  const { maxAttempts } = config;
  // The route's endpoints as configured (a DNS name stands for the peers it finds), for error messages.
  const endpoints = config.routes.find((route) => route.name === routeName)?.endpoints.map((endpoint) => endpoint.address) ?? [];
  const writer = new FragmentWriter(DELIVERY_SLAB_BYTES);
  const greet = (name: string) => {
    const outbox = events.outboxNamed(name);
    outbox?.hello(tracker.producerId).catch(() => undefined);
  };
  const tracker: DeliveryTracker = new DeliveryTracker(
    sockets.map((socket) => socket.name),
    {
      maxQueueSize: config.maxQueueSize,
      ackTimeout: config.ackTimeout,
      maxQueueBytes: config.maxQueueBytes,
      maxAttempts,
      retryDelay: config.retryDelay,
      maxRetryDelay: config.maxRetryDelay,
      keyedPoison: config.keyedPoison,
      onKeyBlocked: (delivery, reason) => events.onKeyBlocked(delivery.pattern, delivery.id, reason),
      lostLinkGrace: LOST_LINK_GRACE,
      store: outbox?.store,
      resolveOn: outbox?.options.resolveOn,
      readPacked: (packed) => storedDelivery(fragmentFields(packed)),
      dataOf: (packed) => storedData(fragmentFields(packed)),
      place: (packed) => writer.copy(packed),
      unread: (name) => events.outboxNamed(name)?.managed.socket.readable ?? false,
      pack: (id, record) => writer.write(recordFields.delivery(id, 1, maxAttempts, record)),
      repack: (packed, attempt) => writer.write(recordFields.redelivery(fragmentFields(packed), attempt, maxAttempts)),
      transmit: (name, delivery, done) => {
        const outbox = events.outboxNamed(name);
        if (outbox === undefined) {
          done.reject(new Error(`no outbox "${name}" any more`));
        } else {
          outbox.deliver(delivery, done);
        }
      },
      onDeadLetter: (letter, delivery) => events.onDeadLetter(letter, deliveredRecord(fragmentFields(delivery.packed))),
      onLinkLost: (link, lost) => events.onLinkLost(link, lost),
      requestCredit: greet,
      errors: {
        queueFull: (pattern) =>
          new ZeroMqSendError(
            'QUEUE_FULL',
            pattern,
            routeName,
            endpoints,
            `too many messages not acknowledged yet (maxQueueSize ${config.maxQueueSize}, maxQueueBytes ${config.maxQueueBytes})`,
          ),
        outboxFull: (pattern, store) =>
          new ZeroMqSendError(
            'OUTBOX_FULL',
            pattern,
            routeName,
            endpoints,
            `the outbox at ${outbox?.options.path ?? '?'} holds ${store.bytes} bytes in ${store.count} message(s) not acknowledged yet (outbox.maxBytes ${store.maxBytes}); nothing stored was dropped`,
          ),
        notStored: (pattern, cause) =>
          new ZeroMqSendError(
            'NOT_STORED',
            pattern,
            routeName,
            endpoints,
            `the outbox at ${outbox?.options.path ?? '?'} could not store it: ${cause.message} (a worker may still handle it; what was stored before is kept)`,
            { cause },
          ),
        deadLetter: (letter) =>
          new ZeroMqSendError(
            'DEAD_LETTER',
            letter.pattern,
            routeName,
            endpoints,
            `dead-lettered after ${letter.attempts} attempt(s): ${letter.reason}`,
          ),
        closed: (pattern) =>
          new ZeroMqSendError('CLOSED', pattern, routeName, endpoints, 'the client closed before a worker acknowledged it'),
      },
    },
  );
  return tracker;
}
