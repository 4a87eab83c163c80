import type {
  ZeroMqClientOptions,
  ZeroMqClientRoute,
  ZeroMqDeliveryMode,
  ZeroMqDiscoveryOptions,
  ZeroMqOutboxOptions,
} from 'nestjs-zeromq';
import { PRICE_CHANGED } from '../../../common/src/prices.contract.js';

/** Injection token of the producer's ZeroMqClient (ClientsModule). */
export const ORDERS_CLIENT = Symbol('ORDERS_CLIENT');

/** Name of the broadcast socket (price changes). */
export const PRICES_SOCKET = 'prices';

/** Routing key of the bare export route; it never travels, plain consumers get the payload only. */
export const ORDER_EXPORT = 'orders.export';

export interface OrdersClientSettings {
  /** Where `orders.created` goes. */
  endpoints: string[];
  /** Bind instead of connect. */
  bind: boolean;
  /** Plain PULL consumers that get each order as bare JSON, if any. */
  exportEndpoints?: string[];
  /** Addresses the price broadcast socket binds (workers connect), if any. */
  broadcastEndpoints?: string[];
  /** Milliseconds an emit may wait for a peer. */
  sendTimeout: number;
  /** Of the orders (the export route is always at-most-once). */
  delivery?: ZeroMqDeliveryMode;
  /** How tcp+dns:// and tcp+srv:// endpoints are resolved, if the defaults do not do. */
  discovery?: ZeroMqDiscoveryOptions;
  /** CURVE keys, when the workers run CURVE. */
  curve?: ZeroMqClientOptions['curve'];
  /** A durable outbox for the orders (at-least-once only). */
  outbox?: ZeroMqOutboxOptions;
}

/**
 * Options of the ZeroMqClient that sends orders: framed `orders.created` events to the workers
 * and, when export endpoints are set, the same order as a bare JSON frame for plain consumers;
 * when broadcast endpoints are set, price changes to every worker (a `'pub-sub'` route, bound).
 * With an outbox, at-least-once orders are kept on disk until a worker has handled them.
 */
export function ordersClientOptions(settings: OrdersClientSettings): ZeroMqClientOptions {
  const endpoints = (addresses: string[]) => addresses.map((address) => ({ address, bind: settings.bind }));
  const routes: ZeroMqClientRoute[] = [];
  if (settings.exportEndpoints !== undefined) {
    routes.push({
      name: 'export',
      patterns: [ORDER_EXPORT],
      endpoints: endpoints(settings.exportEndpoints),
      bare: true,
      delivery: 'at-most-once',
    });
  }
  if (settings.broadcastEndpoints !== undefined) {
    const bound = settings.broadcastEndpoints.map((address) => ({ address, bind: true }));
    routes.push({ name: PRICES_SOCKET, kind: 'pub-sub', patterns: [PRICE_CHANGED], endpoints: bound });
  }
  return {
    endpoints: endpoints(settings.endpoints),
    routes,
    sendTimeout: settings.sendTimeout,
    ...(settings.delivery === undefined ? {} : { delivery: settings.delivery }),
    ...(settings.discovery === undefined ? {} : { discovery: settings.discovery }),
    ...(settings.curve === undefined ? {} : { curve: settings.curve }),
    ...(settings.outbox === undefined ? {} : { outbox: settings.outbox }),
  };
}
