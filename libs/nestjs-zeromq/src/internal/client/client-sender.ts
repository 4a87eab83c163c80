import type { ProducerSerializer, ReadPacket, WritePacket } from '@nestjs/microservices';
import { unwrapRecord } from '../../record-builders/unwrap-record.js';
import type { DeliveryTracker } from '../at-least-once/delivery-tracker.js';
import type { ResolvedClientOptions } from '../options/plans.js';
import { withKeyAndExpiry, type EncodedRecord } from '../protocol/wire.js';
import type { Settle } from '../sockets/send-queue.js';
import { keyFrom } from './client-errors.js';
import type { ClientRoutes } from './client-routes.js';
import type { ReplyCarrier } from './outbox.js';
import type { PendingRequests } from './pending-requests.js';
import type { ClientRoute } from './route-table.js';
import type { SendOutcomes } from './send-outcomes.js';
import { encodePacket } from './serialized-packet.js';

/** What a ClientSender is made of: the ZeroMqClient's options, routes, outcomes, requests and Nest serializer. */
export interface ClientSenderParts {
  config: ResolvedClientOptions;
  routes: ClientRoutes;
  outcomes: SendOutcomes;
  requests: PendingRequests;
  serializer: ProducerSerializer;
}

/**
 * The way down of one emit or request, from the adapter to an outbox (or to the route's
 * at-least-once tracker): its route, its key and expiry, the Nest serializer, the outbox the
 * route picks. The adapter hands each emit and request to it once, with its normalized pattern.
 */
export class ClientSender {
  private readonly config: ResolvedClientOptions;
  private readonly routes: ClientRoutes;
  private readonly outcomes: SendOutcomes;
  private readonly requests: PendingRequests;
  private readonly serializer: ProducerSerializer;

  constructor({ config, routes, outcomes, requests, serializer }: ClientSenderParts) {
    this.config = config;
    this.routes = routes;
    this.outcomes = outcomes;
    this.requests = requests;
    this.serializer = serializer;
  }

  /** Routes, serializes and queues one emit; `done` hears how it ended. */
  emit(pattern: string, record: ReadPacket, done: Settle): void {
    const unwrapped = unwrapRecord(record);
    const { options } = unwrapped;
    let { packet } = unwrapped;
    let route: ClientRoute;
    let tracker: DeliveryTracker | undefined;
    let key: string | undefined;
    try {
      ({ route, tracker } = this.routes.eventRoute(pattern, options.delivery));
      key = options.key ?? keyFrom(route.plan.key, packet.data, pattern);
    } catch (error) {
      done.reject(this.outcomes.emitFailed(error));
      return;
    }
    const ttl = options.ttl ?? this.config.ttl;
    const expiresAt = ttl === undefined ? undefined : Date.now() + ttl;
    if (key !== undefined || expiresAt !== undefined) {
      packet = { ...packet, metadata: withKeyAndExpiry(packet.metadata, key, expiresAt) };
    }
    this.encode(
      'event',
      pattern,
      packet,
      route,
      tracker === undefined
        ? (encoded) => (key === undefined ? this.routes.pick(route) : this.routes.pickKeyed(route, key)).emit(encoded, done)
        : (encoded) => tracker.submit(pattern, encoded, this.outcomes.trackedEmit(done), key, expiresAt),
      done,
    );
  }

  /** Routes, serializes and queues one request; `callback` hears its replies. Returns what cancels it. */
  request(pattern: string, record: ReadPacket, callback: (packet: WritePacket) => void): () => void {
    const { packet, options } = unwrapRecord(record);
    let route: ClientRoute;
    let outbox: ReplyCarrier;
    try {
      ({ route, outbox } = this.routes.requestRoute(pattern));
    } catch (error) {
      this.outcomes.counters.add('requestsFailed');
      callback({ err: error, isDisposed: true });
      return () => undefined;
    }
    const id = this.requests.open(pattern, outbox.name, callback, options.timeout ?? this.config.requestTimeout);
    const sent: Settle = {
      resolve: () => this.outcomes.counters.add('requests'),
      reject: (error) => this.requests.fail(id, error),
    };
    this.encode('request', pattern, packet, route, (record) => outbox.request(id, record, sent), sent);
    return () => this.requests.cancel(id);
  }

  /** Serializes the packet (Nest serializer) and frames it for the route; failures go to `done`. */
  private encode(
    role: 'event' | 'request',
    pattern: string,
    packet: ReadPacket,
    route: ClientRoute,
    send: (record: EncodedRecord) => void,
    done: Settle,
  ): void {
    encodePacket(this.serializer, pattern, packet, route.plan.bare, send, (detail, cause) =>
      done.reject(this.outcomes.failure(role, pattern, route.name, 'SEND_FAILED', detail, cause)),
    );
  }
}
