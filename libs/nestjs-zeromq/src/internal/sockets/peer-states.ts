import { ZeroMqSocketEventType } from '../../zeromq.events.js';

/** What a connecting socket has seen of one endpoint it connects to. */
type PeerState =
  | { state: 'never' | 'lost'; refused: number }
  | { state: 'handshaking'; failure?: string }
  | { state: 'live' }
  | { state: 'failed'; reason: string }
  /** Closed during the handshake, with no handshake:error: rejected, the cause being found out. */
  | { state: 'probing' }
  | { state: 'rejected'; reason: string };

/**
 * The endpoints a socket connects to, each as the monitor last showed it: never connected (and
 * how often refused), connected with the ZMTP handshake under way, live, or rejected. libzmq
 * rejects a peer of a socket type that does not match (a DEALER meeting a PULL) by closing the
 * connection during the handshake, with no `handshake:error` event on either side most of the
 * time, and never connects to that endpoint again: the close before the handshake is the sign.
 */
export class PeerStates {
  private readonly peers = new Map<string, PeerState>();

  /** An endpoint this socket connects to (not inproc: it has no monitor events). */
  add(address: string): void {
    this.peers.set(address, { state: 'never', refused: 0 });
  }

  delete(address: string): void {
    this.peers.delete(address);
  }

  /** Endpoints with a completed handshake. */
  get live(): number {
    return this.count('live');
  }

  /** Endpoints connected whose handshake has not completed: not usable yet. */
  get handshaking(): number {
    return this.count('handshaking');
  }

  /**
   * Follows one monitor event of a connected-to address; `failure` is the reason of a
   * `handshake:error` event. Returns `'rejected'` when the event shows the endpoint rejected this
   * socket (a connection closed during its handshake with no such event): the endpoint is then
   * `probing` until `reject()` gives the cause.
   */
  onEvent(type: ZeroMqSocketEventType, address: string, failure?: string): 'rejected' | undefined {
    const peer = this.peers.get(address);
    if (peer === undefined) {
      return undefined;
    }
    switch (type) {
      case ZeroMqSocketEventType.CONNECT_RETRY:
        if (peer.state === 'never' || peer.state === 'lost') {
          peer.refused++;
        }
        return undefined;
      case ZeroMqSocketEventType.CONNECT:
        this.peers.set(address, { state: 'handshaking' });
        return undefined;
      case ZeroMqSocketEventType.HANDSHAKE:
        this.peers.set(address, { state: 'live' });
        return undefined;
      case ZeroMqSocketEventType.HANDSHAKE_ERROR:
        this.peers.set(address, { state: 'handshaking', failure });
        return undefined;
      case ZeroMqSocketEventType.DISCONNECT:
        return this.disconnected(address, peer);
      default:
        return undefined;
    }
  }

  /** The cause of a rejection `onEvent()` reported; false if the endpoint moved on meanwhile. */
  reject(address: string, reason: string): boolean {
    if (this.peers.get(address)?.state !== 'probing') {
      return false;
    }
    this.peers.set(address, { state: 'rejected', reason });
    return true;
  }

  /** The endpoint's rejection when every endpoint rejected this socket (nothing will ever take a message), else undefined. */
  allRejected(): { address: string; reason: string } | undefined {
    // Asked before every at-least-once emit: no array or entry per call.
    for (const peer of this.peers.values()) {
      if (peer.state !== 'rejected') {
        return undefined;
      }
    }
    const address = this.peers.keys().next();
    if (address.done === true) {
      return undefined;
    }
    return { address: address.value, reason: (this.peers.get(address.value) as { reason: string }).reason };
  }

  /** What was seen of each endpoint, for the error of a send that no peer took. */
  describe(): string[] {
    return [...this.peers].map(([address, peer]) => {
      switch (peer.state) {
        case 'never':
          return peer.refused > 0
            ? `never connected to ${address} (refused ${peer.refused} time(s): nothing is bound there; check the address and port, and that the server started)`
            : `never connected to ${address} (nothing answered yet: check the address and port, and that the server started)`;
        case 'lost':
          return `lost the connection to ${address}${peer.refused > 0 ? ` (reconnecting: refused ${peer.refused} time(s) since)` : ' (reconnecting)'}`;
        case 'handshaking':
          return `connected to ${address}, handshake not completed${peer.failure === undefined ? '' : ` (${peer.failure})`}`;
        case 'live':
          return `connected to ${address}`;
        case 'failed':
          return `connected to ${address}, but the handshake failed: ${peer.reason} (ZeroMQ keeps retrying)`;
        case 'probing':
          return `connected to ${address}, which closed the connection during the handshake`;
        case 'rejected':
          return `connected to ${address}, which rejected this socket: ${peer.reason}`;
      }
    });
  }

  private disconnected(address: string, peer: PeerState): 'rejected' | undefined {
    if (peer.state !== 'handshaking') {
      this.peers.set(address, { state: 'lost', refused: 0 });
      return undefined;
    }
    if (peer.failure !== undefined) {
      // A handshake:error event reported it (CURVE keys, a plaintext peer): ZeroMQ reconnects and may succeed.
      this.peers.set(address, { state: 'failed', reason: peer.failure });
      return undefined;
    }
    // No event: libzmq refused the peer's socket type, and does not reconnect after that.
    this.peers.set(address, { state: 'probing' });
    return 'rejected';
  }

  private count(state: PeerState['state']): number {
    let total = 0;
    for (const peer of this.peers.values()) {
      if (peer.state === state) {
        total++;
      }
    }
    return total;
  }
}
