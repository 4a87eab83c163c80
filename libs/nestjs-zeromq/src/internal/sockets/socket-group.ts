import type * as zmq from 'zeromq';
import { ZeroMqSocketEventType, ZeroMqStatus, type ZeroMqSocketEvent } from '../../zeromq.events.js';
import { ManagedSocket } from './managed-socket.js';
import type { RateLimitedLog } from '../util/rate-limited-log.js';
import type { SocketPlan } from '../options/plans.js';

/**
 * The sockets of one ZeroMqServer or ZeroMqClient, by name: opens and closes them together,
 * derives the owner's status from their connections and reports their events.
 */
export class SocketGroup<S extends zmq.Socket> {
  private readonly sockets = new Map<string, ManagedSocket<S>>();
  /** Checks of pending `waitForPeers()` calls, run on every socket event. */
  private readonly peerWaits = new Set<() => void>();
  private closed = false;

  constructor(
    private readonly setStatus: (status: ZeroMqStatus) => void,
    /** Where every socket event goes (the owner's `on()` listeners, and its own reactions). */
    private readonly onEvent: (event: ZeroMqSocketEvent) => void,
    /** Where failed handshakes are logged (wrong keys, plaintext peers), rate-limited. */
    private readonly problems: RateLimitedLog,
    /** Whose sockets these are: a client's (PUSH, DEALER, XPUB) or a server's (PULL, ROUTER, SUB). */
    private readonly side: 'client' | 'server',
  ) {}

  get isOpen(): boolean {
    return this.sockets.size > 0;
  }

  /** Opens one socket per plan; on any failure closes what it opened and rethrows. */
  async open<P extends SocketPlan>(plans: readonly P[], create: (plan: P) => S): Promise<Array<ManagedSocket<S, P>>> {
    this.closed = false;
    this.setStatus(ZeroMqStatus.CONNECTING);
    const opened: Array<ManagedSocket<S, P>> = [];
    try {
      for (const plan of plans) {
        const managed = new ManagedSocket<S, P>(plan, create(plan), (event) => this.onSocketEvent(event), this.side);
        this.sockets.set(plan.name, managed);
        opened.push(managed);
        await managed.open();
      }
    } catch (error) {
      this.close();
      throw error;
    }
    this.updateStatus();
    return opened;
  }

  /**
   * Resolves once each named socket has a usable connection (its handshake completed) or was
   * rejected by every endpoint, after `timeout` ms, or on close, whichever comes first; never
   * rejects (ZeroMQ goes on reconnecting).
   */
  waitForPeers(names: readonly string[], timeout: number): Promise<void> {
    const ready = () => this.closed || names.every((name) => this.sockets.get(name)?.settled ?? true);
    if (timeout <= 0 || ready()) {
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const check = () => {
        if (ready()) {
          done();
        }
      };
      const done = () => {
        clearTimeout(timer);
        this.peerWaits.delete(check);
        resolve();
      };
      const timer = setTimeout(done, timeout);
      this.peerWaits.add(check);
    });
  }

  /**
   * Adds one connecting socket to the open group (a DEALER for a peer that DNS discovery found)
   * and connects it to the plan's endpoints.
   */
  add<P extends SocketPlan>(plan: P, socket: S): ManagedSocket<S, P> {
    const managed = new ManagedSocket<S, P>(plan, socket, (event) => this.onSocketEvent(event), this.side);
    this.sockets.set(plan.name, managed);
    for (const endpoint of plan.endpoints) {
      managed.connectPeer(endpoint.address);
    }
    return managed;
  }

  /** Closes and forgets one socket (its peer left DNS). */
  remove(name: string): void {
    const managed = this.sockets.get(name);
    if (managed !== undefined) {
      this.sockets.delete(name);
      managed.close();
      this.updateStatus();
    }
  }

  /** Sockets by name, for `unwrap()`; throws `notOpen` (Nest's wording for the owner) before open. */
  unwrap(notOpen: string): Record<string, S> {
    if (!this.isOpen) {
      throw new Error(notOpen);
    }
    return Object.fromEntries([...this.sockets].map(([name, managed]) => [name, managed.socket]));
  }

  /** Live connections by socket name. */
  connections(): Record<string, number> {
    return Object.fromEntries([...this.sockets].map(([name, managed]) => [name, managed.connectionCount]));
  }

  /** Connections of all the sockets that ended (see ManagedSocket.disconnects). */
  disconnects(): number {
    let total = 0;
    for (const managed of this.sockets.values()) {
      total += managed.disconnects;
    }
    return total;
  }

  /** Actual addresses by socket name (bound ports filled in). */
  addresses(): Record<string, string[]> {
    return Object.fromEntries([...this.sockets].map(([name, managed]) => [name, [...managed.addresses]]));
  }

  close(): void {
    this.closed = true;
    for (const managed of this.sockets.values()) {
      managed.close();
    }
    this.sockets.clear();
    this.setStatus(ZeroMqStatus.CLOSED);
    this.checkPeerWaits();
  }

  /**
   * An error's detail (a send timeout, a lost peer), plus the socket's last failed handshake when
   * there is one: its likely cause.
   */
  withHandshakeFailure(socketName: string, detail: string): string {
    const failure = this.sockets.get(socketName)?.lastHandshakeFailure;
    return failure === undefined ? detail : `${detail}; the last handshake with ${failure.address} failed: ${failure.reason}`;
  }

  private onSocketEvent(event: ZeroMqSocketEvent): void {
    if (event.type === ZeroMqSocketEventType.HANDSHAKE_ERROR) {
      this.problems.warn('handshake', `Socket "${event.socket}": handshake with ${event.address} failed: ${event.reason}`);
    }
    this.updateStatus();
    this.checkPeerWaits();
    this.onEvent(event);
  }

  private checkPeerWaits(): void {
    for (const check of [...this.peerWaits]) {
      check();
    }
  }

  private updateStatus(): void {
    if (this.closed) {
      return;
    }
    const connected = [...this.sockets.values()].some((managed) => managed.connected);
    this.setStatus(connected ? ZeroMqStatus.CONNECTED : ZeroMqStatus.DISCONNECTED);
  }
}
