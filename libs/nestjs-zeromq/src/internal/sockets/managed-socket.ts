import type * as zmq from 'zeromq';
import { isDnsEndpoint } from '../options/dns-endpoint.js';
import { ZeroMqSocketEventType, type ZeroMqSocketEvent } from '../../zeromq.events.js';
import { bindRetrying } from '../util/bind-retrying.js';
import { PeerStates } from './peer-states.js';
import { probePeerType } from './peer-type-probe.js';
import { SocketTypeMismatch } from './socket-type-mismatch.js';
import { explainHandshakeFailure, securityOf, type SocketSecurity } from '../security/handshake-failure.js';
import type { ResolvedEndpoint, SocketPlan } from '../options/plans.js';

/** Longest a rejected socket waits to learn its peer's type before it reports the rejection. */
const PROBE_TIMEOUT = 1_000;

/** Monitor event types forwarded to listeners, and the public type each maps to. */
const FORWARDED_EVENTS = new Map<zmq.EventType, ZeroMqSocketEventType>([
  ['bind', ZeroMqSocketEventType.BIND],
  ['accept', ZeroMqSocketEventType.ACCEPT],
  ['connect', ZeroMqSocketEventType.CONNECT],
  ['connect:retry', ZeroMqSocketEventType.CONNECT_RETRY],
  ['handshake', ZeroMqSocketEventType.HANDSHAKE],
  ['handshake:error:protocol', ZeroMqSocketEventType.HANDSHAKE_ERROR],
  ['handshake:error:auth', ZeroMqSocketEventType.HANDSHAKE_ERROR],
  ['handshake:error:other', ZeroMqSocketEventType.HANDSHAKE_ERROR],
  ['disconnect', ZeroMqSocketEventType.DISCONNECT],
  ['close', ZeroMqSocketEventType.CLOSE],
]);

/**
 * A zeromq.js socket with a name, its endpoints and its monitor: opens (binds/connects) the
 * endpoints, counts live connections and forwards monitor events as ZeroMqSocketEvents.
 */
export class ManagedSocket<S extends zmq.Socket = zmq.Socket, P extends SocketPlan = SocketPlan> {
  /** Actual addresses: bound ones as ZeroMQ resolved them (an OS-chosen port filled in). */
  readonly addresses: string[] = [];
  private readonly attached: ResolvedEndpoint[] = [];
  /** The last failed handshake since the last successful one: the likely cause of a stalled send. */
  lastHandshakeFailure: { address: string; reason: string } | undefined;
  private connections = 0;
  /** Connections that ended: peers that left, and those ZeroMQ reset (a frame above maxMessageSize, a protocol error). */
  disconnects = 0;
  /** Connected-to addresses with a live connection: `disconnectPeer()` must count one down itself. */
  private readonly connectedPeers = new Set<string>();
  private readonly security: SocketSecurity;
  /** The endpoints this socket connects to, as far as their handshakes went. */
  private readonly peers = new PeerStates();
  /** Words for a peer that rejected this socket's type. */
  private readonly mismatch: SocketTypeMismatch;
  /** Callers of `whenSettled()` still waiting. */
  private settleWaiters: Array<() => void> = [];

  constructor(
    /** What to open: the socket's name, kind, endpoints, and its side's own settings. */
    readonly plan: P,
    readonly socket: S,
    private readonly onEvent: (event: ZeroMqSocketEvent) => void,
    side: 'client' | 'server',
  ) {
    this.security = securityOf(socket);
    this.mismatch = new SocketTypeMismatch(plan.kind, side);
    void this.watch();
  }

  get name(): string {
    return this.plan.name;
  }

  get kind(): SocketPlan['kind'] {
    return this.plan.kind;
  }

  private get endpoints(): readonly ResolvedEndpoint[] {
    return this.plan.endpoints;
  }

  /** Whether at least one peer is connected (inproc endpoints count as connected once open). */
  get connected(): boolean {
    return this.connections > 0;
  }

  /** Live connections (inproc endpoints count as one each once open). */
  get connectionCount(): number {
    return this.connections;
  }

  /**
   * Whether a message can go out now or wait for a peer that may come: a connection whose handshake
   * completed, or one an accepted or inproc peer may bring; false while the only connections are
   * still in their handshake, and when every endpoint this socket connects to rejected it.
   */
  get usable(): boolean {
    return this.connections - this.peers.handshaking > 0;
  }

  /** Whether waiting for a peer is over: one is usable, or every endpoint rejected this socket. */
  get settled(): boolean {
    return this.usable || this.rejection !== undefined;
  }

  /** Resolves once `settled` (at once if it is), or when the socket closes. */
  whenSettled(): Promise<void> {
    return this.settled || this.socket.closed ? Promise.resolve() : new Promise((resolve) => this.settleWaiters.push(resolve));
  }

  /**
   * When every endpoint this socket connects to rejected it (a socket kind that does not match, a
   * CURVE key) and it binds none: the first endpoint and why. Nothing sent here can arrive.
   */
  get rejection(): { address: string; reason: string } | undefined {
    for (const endpoint of this.attached) {
      if (endpoint.bind || endpoint.address.startsWith('inproc://')) {
        return undefined;
      }
    }
    return this.peers.allRejected();
  }

  /** What was seen of the peers, for the error of a send that none took within sendTimeout. */
  describePeers(): string {
    const seen = this.peers.describe();
    const bound = this.attached.filter((endpoint) => endpoint.bind).map((endpoint) => endpoint.address);
    if (bound.length > 0) {
      const accepted = this.connections - this.peers.live - this.peers.handshaking;
      seen.push(
        accepted > 0
          ? `${accepted} peer(s) connected to ${bound.join(', ')}`
          : `no peer connected to ${bound.join(', ')} (this socket binds: its peers must connect to that address)`,
      );
    }
    const failure = this.lastHandshakeFailure;
    if (failure !== undefined && bound.length > 0) {
      seen.push(`the last handshake with ${failure.address} failed: ${failure.reason}`);
    }
    if (this.usable) {
      seen.push('every connected peer is at its high-water mark (it reads slower than this side sends)');
    }
    return seen.join('; ');
  }

  /** Binds and connects the endpoints; DNS discovery endpoints are left to `connectPeer()`. */
  async open(): Promise<void> {
    for (const endpoint of this.endpoints) {
      if (isDnsEndpoint(endpoint.address)) {
        continue;
      }
      let address = endpoint.address;
      if (endpoint.bind) {
        await this.bind(address);
        address = this.socket.lastEndpoint ?? address;
      } else {
        this.socket.connect(address);
      }
      this.addresses.push(address);
      this.attached.push({ address, bind: endpoint.bind });
      if (!endpoint.bind && !address.startsWith('inproc://')) {
        this.peers.add(address);
      }
      // inproc has no monitor events: the pipe exists as soon as both sides are there.
      if (endpoint.address.startsWith('inproc://')) {
        this.connections++;
      }
    }
  }

  /** Connects to a peer that DNS discovery found (a `tcp://ip:port` address). */
  connectPeer(address: string): void {
    this.peers.add(address);
    this.socket.connect(address);
    this.addresses.push(address);
    this.attached.push({ address, bind: false });
  }

  /** Disconnects from a peer that DNS no longer lists. */
  disconnectPeer(address: string): void {
    const index = this.attached.findIndex((endpoint) => endpoint.address === address && !endpoint.bind);
    if (index < 0) {
      return;
    }
    this.attached.splice(index, 1);
    this.addresses.splice(this.addresses.indexOf(address), 1);
    this.peers.delete(address);
    // libzmq reports no disconnect for a connection the socket itself drops.
    if (this.connectedPeers.delete(address) && this.connections > 0) {
      this.connections--;
    }
    try {
      this.socket.disconnect(address);
    } catch {
      // Already gone (socket closed): nothing to disconnect.
    }
  }

  /** Stops new connections and peers (unbind/disconnect) while the socket stays readable. */
  detach(): void {
    for (const { address, bind } of this.attached.splice(0)) {
      try {
        if (bind) {
          // Synchronously: zeromq.js runs unbind() on a worker thread, during which the socket must
          // not be used, yet the pending receive of the read loop uses it; with a peer leaving at
          // that moment libzmq aborted the process (pipe.cpp assertion; zeromq.fuzz.spec.ts).
          this.socket.unbindSync(address);
        } else {
          this.socket.disconnect(address);
        }
      } catch {
        // Already gone: nothing to detach.
      }
    }
  }

  close(): void {
    if (!this.socket.closed) {
      this.socket.close();
    }
    this.connections = 0;
    this.wakeSettleWaiters();
  }

  private async bind(address: string): Promise<void> {
    try {
      await bindRetrying(this.socket, address);
    } catch (error) {
      throw new Error(`Cannot bind socket "${this.name}" to ${address}: ${(error as Error).message}`, { cause: error });
    }
  }

  /**
   * Reads the monitor until the socket closes. Iterating (rather than `events.on()`) keeps to the
   * native API: zeromq.js's `on()` helper captures the module instance that first loaded it,
   * which breaks where modules are loaded more than once (Jest gives each test file its own).
   */
  private async watch(): Promise<void> {
    try {
      for await (const event of this.socket.events) {
        const type = FORWARDED_EVENTS.get(event.type);
        if (type !== undefined) {
          this.forward(type, event);
        }
      }
    } catch {
      // The observer ends with its socket: nothing more to watch.
    }
  }

  private forward(type: ZeroMqSocketEventType, event: zmq.Event): void {
    const address = 'address' in event ? event.address : '';
    if (type === ZeroMqSocketEventType.ACCEPT || type === ZeroMqSocketEventType.CONNECT) {
      this.connections++;
      if (type === ZeroMqSocketEventType.CONNECT) {
        this.connectedPeers.add(address);
      }
    } else if (type === ZeroMqSocketEventType.DISCONNECT) {
      this.disconnects++;
      if (this.connections > 0) {
        this.connections--;
        this.connectedPeers.delete(address);
      }
    }
    const error = 'error' in event ? event.error : undefined;
    let reason: string | undefined;
    if (type === ZeroMqSocketEventType.HANDSHAKE_ERROR) {
      reason = explainHandshakeFailure(error, this.security, this.mismatch.closedDuringHandshake(!this.security.curve));
      this.lastHandshakeFailure = { address, reason };
    } else if (type === ZeroMqSocketEventType.HANDSHAKE) {
      this.lastHandshakeFailure = undefined;
    }
    const rejected = this.peers.onEvent(type, address, reason);
    this.onEvent({
      type,
      socket: this.name,
      address,
      ...(error ? { error } : {}),
      ...(reason === undefined ? {} : { reason }),
    });
    if (rejected !== undefined) {
      void this.findOutWhyRejected(address);
    }
    if (this.settled) {
      this.wakeSettleWaiters();
    }
  }

  /**
   * libzmq reports no handshake:error for a socket type it refused: asks the peer its type, then
   * reports the rejection as a handshake:error naming the types that met.
   */
  private async findOutWhyRejected(address: string): Promise<void> {
    const reason = this.mismatch.rejection(address, await probePeerType(address, PROBE_TIMEOUT));
    if (this.socket.closed || !this.peers.reject(address, reason)) {
      return;
    }
    this.lastHandshakeFailure = { address, reason };
    this.onEvent({ type: ZeroMqSocketEventType.HANDSHAKE_ERROR, socket: this.name, address, reason });
    if (this.settled) {
      this.wakeSettleWaiters();
    }
  }

  private wakeSettleWaiters(): void {
    for (const resolve of this.settleWaiters.splice(0)) {
      resolve();
    }
  }
}
