import { ZeroMqStatus } from '../zeromq.events.js';
import { ZeroMqServer } from '../zeromq.server.js';
import type { ZeroMqClient } from '../zeromq.client.js';

/** What the health check of a ZeroMqServer or ZeroMqClient requires. */
export interface ZeroMqHealthOptions {
  /**
   * Whether a socket with no connected peer is unhealthy. A producer without workers cannot
   * deliver; a worker without producers is merely idle.
   * @default true for a ZeroMqClient, false for a ZeroMqServer
   */
  requireConnected?: boolean;
  /**
   * Names of the sockets to check (`'default'`, route names); the others are reported but do not
   * make the check fail.
   * @default every socket
   */
  sockets?: readonly string[];
}

/** One socket as the health check reports it. */
export interface ZeroMqSocketHealth {
  /** Live connections (peers) on this socket. */
  connections: number;
  /** Servers: whether the socket's read loop runs. */
  reading?: boolean;
  /** Servers: handlers running against the socket's `concurrency`. */
  inFlight?: number;
  concurrency?: number;
  /** Servers: bytes of the records read and not finished against the socket's `receiveBudget`. */
  heldBytes?: number;
  receiveBudget?: number;
  /** Clients: emits and requests waiting against `maxQueueSize`. */
  queued?: number;
  maxQueueSize?: number;
}

/** The state of a server or client and, if unhealthy, every reason why. */
export interface ZeroMqHealthAssessment {
  status: ZeroMqStatus | 'not-started';
  sockets: Record<string, ZeroMqSocketHealth>;
  problems: string[];
}

/**
 * Opens a client nobody connected yet, as its first emit would (Nest's ClientsModule connects
 * lazily), and waits for it (`connectTimeout` at most): a readiness probe of a fresh producer
 * then sees its peers instead of "not-started" until something emits.
 */
export async function connectIfNotStarted(target: ZeroMqServer | ZeroMqClient): Promise<void> {
  if (!(target instanceof ZeroMqServer) && currentStatus(target) === 'not-started') {
    // A failed open is the status the assessment reports.
    await target.connect().catch(() => undefined);
  }
}

/** Reads a transport's state (status, connections, queues, read loops) and judges it against the options. */
export function assessZeroMqHealth(target: ZeroMqServer | ZeroMqClient, options: ZeroMqHealthOptions = {}): ZeroMqHealthAssessment {
  const isServer = target instanceof ZeroMqServer;
  const requireConnected = options.requireConnected ?? !isServer;
  const status = currentStatus(target);
  const sockets = isServer ? serverSockets(target) : clientSockets(target);
  const problems: string[] = [];
  if (status === 'not-started' || status === ZeroMqStatus.CONNECTING || status === ZeroMqStatus.CLOSED) {
    problems.push(`status is ${status}`);
  }
  // A route with a socket per peer (`<route>@<ip:port>` found through DNS, `<route>#<n>` per listed
  // endpoint of a 'dealer-router' route) is checked as one socket, connected if any peer is (a peer
  // that left, or that DNS still lists, is not a fault).
  const discovered = routeConnections(sockets);
  for (const [name, socket] of Object.entries(sockets)) {
    const route = routeOf(name);
    if (options.sockets !== undefined && !options.sockets.includes(name) && !options.sockets.includes(route)) {
      continue;
    }
    const connections = route === name ? socket.connections : discovered.get(route)!;
    if (requireConnected && connections === 0) {
      problems.push(`socket "${name}" has no connected peer`);
    }
    if (socket.reading === false) {
      problems.push(`socket "${name}" stopped reading`);
    }
    if (socket.queued !== undefined && socket.maxQueueSize !== undefined && socket.queued >= socket.maxQueueSize) {
      problems.push(`socket "${name}" has a full send queue (${socket.queued} of maxQueueSize ${socket.maxQueueSize})`);
    }
  }
  for (const name of options.sockets ?? []) {
    if (sockets[name] === undefined && !discovered.has(name) && status !== 'not-started') {
      problems.push(`socket "${name}" does not exist (or, following a DNS name, has no peer)`);
    }
  }
  return { status, sockets, problems };
}

/** The latest status: `status` replays it synchronously to a new subscriber. */
function currentStatus(target: ZeroMqServer | ZeroMqClient): ZeroMqStatus | 'not-started' {
  let status: ZeroMqStatus | 'not-started' = 'not-started';
  target.status.subscribe((value) => (status = value)).unsubscribe();
  return status;
}

function serverSockets(server: ZeroMqServer): Record<string, ZeroMqSocketHealth> {
  const { connections } = server.getMetrics();
  return Object.fromEntries(
    Object.entries(server.getSocketStates()).map(([name, state]) => [name, { connections: connections[name] ?? 0, ...state }]),
  );
}

function clientSockets(client: ZeroMqClient): Record<string, ZeroMqSocketHealth> {
  const { connections } = client.getMetrics();
  const queues = client.getQueueStates();
  return Object.fromEntries(Object.entries(connections).map(([name, count]) => [name, { connections: count, ...queues[name] }]));
}

/** The route a socket belongs to: `default@10.1.2.3:5557` (a peer found through DNS) or `default#2` (an endpoint) → `default`. */
function routeOf(socketName: string): string {
  const end = socketName.search(/[@#]/);
  return end < 0 ? socketName : socketName.slice(0, end);
}

/** Live connections per route over its sockets per peer. */
function routeConnections(sockets: Record<string, ZeroMqSocketHealth>): Map<string, number> {
  const totals = new Map<string, number>();
  for (const [name, socket] of Object.entries(sockets)) {
    const route = routeOf(name);
    if (route !== name) {
      totals.set(route, (totals.get(route) ?? 0) + socket.connections);
    }
  }
  return totals;
}
