import type { LoggerService } from '@nestjs/common';
import type * as zmq from 'zeromq';
import { ZeroMqSocketEventType, ZeroMqStatus, type ZeroMqSocketEvent } from '../zeromq.events.js';
import { curveSocketOptions } from './curve.js';
import { ManagedSocket } from './managed-socket.js';
import type { RateLimitedLog } from './rate-limited-log.js';
import type { ResolvedTuning, SocketPlan } from './resolve-options.js';

type Listener = (...args: never[]) => unknown;

/**
 * zeromq.js constructor options every socket of a server or client gets, CURVE keys included:
 * every socket the library creates must take its options from here.
 */
export function tuningSocketOptions(tuning: ResolvedTuning) {
  return {
    ...curveSocketOptions(tuning.curve),
    linger: tuning.linger,
    reconnectInterval: tuning.reconnectInterval,
    reconnectMaxInterval: tuning.reconnectMaxInterval,
    ...(tuning.heartbeat === false
      ? {}
      : { heartbeatInterval: tuning.heartbeat.interval, heartbeatTimeout: tuning.heartbeat.timeout }),
  };
}

/**
 * The sockets of one ZeroMqServer or ZeroMqClient, by name: opens and closes them together,
 * derives the owner's status from their connections and dispatches `on()` listeners.
 */
export class SocketGroup<S extends zmq.Socket> {
  private readonly sockets = new Map<string, ManagedSocket<S>>();
  private readonly listeners = new Map<string, Set<Listener>>();
  /** Checks of pending `waitForPeers()` calls, run on every socket event. */
  private readonly peerWaits = new Set<() => void>();
  private closed = false;

  constructor(
    private readonly setStatus: (status: ZeroMqStatus) => void,
    private readonly logger: LoggerService,
    /** Where failed handshakes are logged (wrong keys, plaintext peers), rate-limited. */
    private readonly problems?: RateLimitedLog,
  ) {}

  get isOpen(): boolean {
    return this.sockets.size > 0;
  }

  /** Opens one socket per plan; on any failure closes what it opened and rethrows. */
  async open<P extends SocketPlan>(plans: readonly P[], create: (plan: P) => S): Promise<Array<ManagedSocket<S> & { plan: P }>> {
    this.closed = false;
    this.setStatus(ZeroMqStatus.CONNECTING);
    const opened: Array<ManagedSocket<S> & { plan: P }> = [];
    try {
      for (const plan of plans) {
        const managed = Object.assign(
          new ManagedSocket(plan.name, plan.kind, create(plan), plan.endpoints, (event) => this.onSocketEvent(event)),
          { plan },
        );
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
   * Resolves once each named socket has a live connection, after `timeout` ms, or on close,
   * whichever comes first; never rejects (ZeroMQ goes on reconnecting).
   */
  waitForPeers(names: readonly string[], timeout: number): Promise<void> {
    const ready = () => this.closed || names.every((name) => this.sockets.get(name)?.connected ?? true);
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

  on(event: string, listener: Listener): void {
    let set = this.listeners.get(event);
    if (set === undefined) {
      set = new Set();
      this.listeners.set(event, set);
    }
    set.add(listener);
  }

  /** Calls the listeners of `event`; a listener that throws is logged, never propagated. */
  emit(event: string, ...args: unknown[]): void {
    for (const listener of this.listeners.get(event) ?? []) {
      try {
        (listener as (...values: unknown[]) => unknown)(...args);
      } catch (error) {
        this.logger.error(`A "${event}" listener threw: ${(error as Error)?.stack ?? String(error)}`);
      }
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

  /** Actual addresses by socket name (bound ports filled in). */
  addresses(): Record<string, string[]> {
    return Object.fromEntries([...this.sockets].map(([name, managed]) => [name, [...managed.addresses]]));
  }

  /**
   * Unbinds/disconnects the sockets (all, or those of one kind) but keeps them open, so that what
   * they hold can still be read and peers stop sending here.
   */
  detach(kind?: SocketPlan['kind']): void {
    for (const managed of this.sockets.values()) {
      if (kind === undefined || managed.kind === kind) {
        managed.detach();
      }
    }
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
      this.problems?.warn('handshake', `Socket "${event.socket}": handshake with ${event.address} failed: ${event.reason}`);
    }
    this.updateStatus();
    this.checkPeerWaits();
    this.emit(event.type, event);
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
