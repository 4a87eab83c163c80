import type { ZeroMqSocketKind } from '../../zeromq.options.js';
import { ZeroMqSocketEventType } from '../../zeromq.events.js';

/** What a connecting socket has seen of one endpoint it connects to. */
type PeerState =
  | { state: 'never' | 'lost'; refused: number }
  | { state: 'handshaking'; failure?: string }
  | { state: 'live' }
  | { state: 'failed'; reason: string }
  | { state: 'rejected'; reason: string };

/** The ZeroMQ socket each side of a kind opens, to name the types that met in a rejection. */
const ZEROMQ_TYPES: Record<ZeroMqSocketKind, { client: string; server: string }> = {
  'push-pull': { client: 'PUSH', server: 'PULL' },
  'dealer-router': { client: 'DEALER', server: 'ROUTER' },
  'pub-sub': { client: 'XPUB', server: 'SUB' },
};

/**
 * The endpoints a socket connects to, each as the monitor last showed it: never connected (and
 * how often refused), connected with the ZMTP handshake under way, live, or rejected. libzmq
 * rejects a peer of a socket type that does not match (a DEALER meeting a PULL) by closing the
 * connection during the handshake, with no `handshake:error` event on either side most of the
 * time, and never connects to that endpoint again: the close before the handshake is the sign.
 */
export class PeerStates {
  private readonly peers = new Map<string, PeerState>();

  constructor(
    private readonly kind: ZeroMqSocketKind,
    /** Whether this is a client socket (the kind's PUSH, DEALER, XPUB) or a server's (PULL, ROUTER, SUB). */
    private readonly side: 'client' | 'server',
  ) {}

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
   * Follows one monitor event of a connected-to address. Returns the reason when the event shows
   * the endpoint rejected (a connection closed during its handshake), so that the socket can report
   * it as a `handshake:error`; `failure` is the reason of a `handshake:error` event itself.
   */
  onEvent(type: ZeroMqSocketEventType, address: string, failure?: string): string | undefined {
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

  /** The endpoint's rejection when every endpoint rejected this socket (nothing will ever take a message), else undefined. */
  allRejected(): { address: string; reason: string } | undefined {
    const peers = [...this.peers];
    if (peers.length === 0 || peers.some(([, peer]) => peer.state !== 'rejected')) {
      return undefined;
    }
    const [address, peer] = peers[0];
    return { address, reason: (peer as { reason: string }).reason };
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
        case 'rejected':
          return `connected to ${address}, which rejected this socket: ${peer.reason}`;
      }
    });
  }

  private disconnected(address: string, peer: PeerState): string | undefined {
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
    const reason = this.closedDuringHandshake(false);
    this.peers.set(address, { state: 'rejected', reason });
    return reason;
  }

  /** The likely cause of a connection closed during the handshake (`plaintext`: this side has no CURVE keys, so a CURVE peer is one). */
  closedDuringHandshake(plaintext: boolean): string {
    const types = ZEROMQ_TYPES[this.kind];
    const [mine, wanted] = this.side === 'client' ? [types.client, types.server] : [types.server, types.client];
    const otherSide = this.side === 'client' ? 'server' : 'client';
    return (
      `the connection was closed during the ZeroMQ handshake: most likely the peer's socket kind is not '${this.kind}' ` +
      `(this ${mine} only talks to a ${wanted}; set the same kind on the ${otherSide})` +
      (plaintext ? ', or the peer uses CURVE and this side does not (set the curve option here too)' : '') +
      ', or the peer is not a ZeroMQ socket'
    );
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
