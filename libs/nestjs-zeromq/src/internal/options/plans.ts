import type { ZeroMqDeliveryMode, ZeroMqSocketKind } from '../../zeromq.options.js';
import type { SideCurve } from '../security/curve.js';
import type { ParsedClientOptions, ParsedOutboxOptions, ParsedServerOptions } from './schemas.js';

// What resolving the options plans: the sockets each side opens and the settings they share. The
// sockets, inboxes, outboxes and kinds read these types; they stand below all of them.

export interface ResolvedEndpoint {
  address: string;
  bind: boolean;
}

/** One socket to open: the default one or a route's. */
export interface SocketPlan {
  name: string;
  kind: ZeroMqSocketKind;
  endpoints: ResolvedEndpoint[];
  /** Normalized patterns of a route; empty for the default socket. */
  patterns: string[];
}

/** A server socket to open, with the handlers that may run at once for it. */
export interface ServerSocketPlan extends SocketPlan {
  concurrency: number;
  /** At-least-once deliveries a producer may have unacknowledged here (a `'dealer-router'` socket's credit). */
  credit: number;
  /** Bytes of records read and not finished this socket may hold (its own, or its share of the server's). */
  receiveBudget: number;
  /** Messages ZeroMQ queues per connection: set, or derived from the budget and `maxMessageSize`. */
  receiveHighWaterMark: number;
}

/** A client route: the patterns it lists (none: the default route) and its delivery guarantee. */
export interface ClientRoutePlan extends SocketPlan {
  bare: boolean;
  delivery: ZeroMqDeliveryMode;
  /** At-least-once routes with a durable outbox: where and how their messages are stored. */
  outbox: ParsedOutboxOptions | undefined;
}

/** A client socket to open: one per route, or (kinds with `socketPerEndpoint`) one per endpoint of a route. */
export interface ClientSocketPlan extends ClientRoutePlan {
  /** The route it belongs to (`''` for the dead-letter socket). */
  route: string;
}

type Tuning = 'linger' | 'heartbeat' | 'reconnectInterval' | 'reconnectMaxInterval' | 'logInterval';

/** Options every socket of either side gets; `curve` is resolved (keys read and checked, a role per socket kind). */
export type ResolvedTuning = Pick<ParsedServerOptions, Tuning> & { curve: SideCurve | undefined };

/** A server's options with every default applied: the schema's output, sockets planned. */
export type ResolvedServerOptions = Omit<
  ParsedServerOptions,
  | 'endpoints'
  | 'routes'
  | 'kind'
  | 'concurrency'
  | 'credit'
  | 'receiveBudget'
  | 'receiveHighWaterMark'
  | 'curve'
  | 'serializer'
  | 'deserializer'
> &
  ResolvedTuning & { sockets: ServerSocketPlan[] };

/** A client's options with every default applied: the schema's output, routes and sockets planned. */
export type ResolvedClientOptions = Omit<
  ParsedClientOptions,
  'endpoints' | 'routes' | 'kind' | 'delivery' | 'deadLetterEndpoints' | 'curve' | 'serializer' | 'deserializer'
> &
  ResolvedTuning & {
    routes: ClientRoutePlan[];
    /** The sockets to open for the routes, and the dead-letter socket if there is one. */
    sockets: ClientSocketPlan[];
  };
