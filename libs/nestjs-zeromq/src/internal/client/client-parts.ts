import type { ProducerDeserializer, ProducerSerializer } from '@nestjs/microservices';
import type * as zmq from 'zeromq';
import type { DeliveryTracker } from '../at-least-once/delivery-tracker.js';
import type { KindLookup } from '../options/kind-facts.js';
import type { ClientSocketPlan, ResolvedClientOptions } from '../options/plans.js';
import type { ManagedSocket } from '../sockets/managed-socket.js';
import type { SocketGroup } from '../sockets/socket-group.js';
import { Counters } from '../util/counters.js';
import { logDeadLetter } from '../util/dead-letter-log.js';
import type { Listeners } from '../util/listeners.js';
import type { RateLimitedLog } from '../util/rate-limited-log.js';
import { clientErrors } from './client-errors.js';
import { ClientRoutes } from './client-routes.js';
import { ClientSender } from './client-sender.js';
import type { Outbox, OutboxHost, OutboxParts } from './outbox.js';
import { PendingRequests } from './pending-requests.js';
import { SEND_COUNTERS, SendOutcomes } from './send-outcomes.js';

/** What a ZeroMqClient makes its parts from: its options, sockets, log, listeners and Nest (de)serializers, and its kinds. */
export interface ClientPartsInput {
  config: ResolvedClientOptions;
  sockets: SocketGroup<zmq.Socket>;
  problems: RateLimitedLog;
  listeners: Listeners;
  serializer: ProducerSerializer;
  deserializer: ProducerDeserializer;
  /** False once the client is closing: a read failure is then expected. */
  isOpen(): boolean;
  kinds: KindLookup;
  /** A socket for `plan`, made by its kind with the client's socket options. */
  createSocket(plan: ClientSocketPlan): zmq.Socket;
  /** The outbox the socket's kind makes for it. */
  createOutbox(managed: ManagedSocket<zmq.Socket, ClientSocketPlan>, parts: OutboxParts): Outbox;
}

/**
 * The parts of a ZeroMqClient below its Nest adapter, made once and wired to each other: the
 * requests waiting for replies, the send outcomes (counters, failure reports), the routes with
 * their outboxes, and the sender that takes each emit and request down to them. What the parts
 * report up (dead letters, subscription changes) goes to the client's log and listeners.
 */
export class ClientParts {
  readonly outcomes: SendOutcomes;
  readonly requests = new PendingRequests(clientErrors.requestTimedOut);
  readonly routes: ClientRoutes;
  readonly sender: ClientSender;
  /** What the outboxes that read their sockets report to: replies and credit, subscription changes. */
  private readonly outboxHost: OutboxHost;

  constructor(private readonly input: ClientPartsInput) {
    const { config, problems, listeners } = input;
    const requests = this.requests;
    this.outcomes = new SendOutcomes(new Counters(SEND_COUNTERS), problems, listeners);
    this.outboxHost = {
      requests,
      deserializer: input.deserializer,
      problems,
      isOpen: () => input.isOpen(),
      subscriptionChanged: (socket, change) => listeners.emit('subscription', { socket, ...change }),
    };
    this.routes = new ClientRoutes({
      config,
      sockets: input.sockets,
      kinds: input.kinds,
      createSocket: (plan) => input.createSocket(plan),
      problems,
      outboxFor: (managed, tracker) => this.outboxFor(managed, tracker),
      deadLettered: (letter) => {
        logDeadLetter(problems, letter);
        listeners.emit('dead-letter', letter);
      },
      requestsOn: (name) => requests.countOn(name),
      failRequests: (name, detail, upTo) =>
        this.outcomes.counters.add(
          'requestsFailed',
          requests.failLink(name, (pattern) => clientErrors.serverLost(pattern, name, detail), upTo),
        ),
      requestMark: () => requests.mark,
    });
    this.sender = new ClientSender({ config, routes: this.routes, outcomes: this.outcomes, requests, serializer: input.serializer });
  }

  /** The outbox of an opened socket, made by its kind (with its route's tracker); a DEALER's starts reading its replies. */
  private outboxFor(managed: ManagedSocket<zmq.Socket, ClientSocketPlan>, tracker?: DeliveryTracker): Outbox {
    const endpoints = managed.plan.endpoints.map((e) => e.address);
    const toError = clientErrors.outgoing(this.outcomes, managed.name, endpoints);
    const outbox = this.input.createOutbox(managed, { config: this.input.config, toError, tracker });
    outbox.start(this.outboxHost);
    return outbox;
  }
}
