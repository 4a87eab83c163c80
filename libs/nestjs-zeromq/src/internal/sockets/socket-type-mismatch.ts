import type { ZeroMqSocketKind } from '../../zeromq.options.js';
import type { ProbedPeer } from './peer-type-probe.js';

/** The ZeroMQ socket each side of a kind opens. */
const ZEROMQ_TYPES: Record<ZeroMqSocketKind, { client: string; server: string }> = {
  'push-pull': { client: 'PUSH', server: 'PULL' },
  'dealer-router': { client: 'DEALER', server: 'ROUTER' },
  'pub-sub': { client: 'XPUB', server: 'SUB' },
};

/** What this library (or a plain peer) opens a socket of each ZeroMQ type as. */
const ROLES: Record<string, string> = {
  PULL: "a server of kind 'push-pull'",
  ROUTER: "a server of kind 'dealer-router'",
  SUB: "a server of kind 'pub-sub'",
  PUSH: "a client of kind 'push-pull'",
  DEALER: "a client of kind 'dealer-router'",
  XPUB: "a client of kind 'pub-sub'",
  PUB: 'a publisher',
  XSUB: "a broadcast proxy's publisher side",
};

/**
 * Says why a peer closed the connection during the ZeroMQ handshake, for a socket of `kind` on
 * `side`: libzmq refuses a pair of socket types that do not go together that way, and tells neither
 * side; a probe of the peer (peer-type-probe.ts) names the type it met.
 */
export class SocketTypeMismatch {
  private readonly mine: string;
  private readonly wanted: string;

  constructor(
    private readonly kind: ZeroMqSocketKind,
    private readonly side: 'client' | 'server',
  ) {
    const types = ZEROMQ_TYPES[kind];
    [this.mine, this.wanted] = side === 'client' ? [types.client, types.server] : [types.server, types.client];
  }

  /** Why the peer at `address` rejected this socket, as far as the probe found out. */
  rejection(address: string, probed: ProbedPeer): string {
    if (probed === undefined) {
      return this.closedDuringHandshake(false);
    }
    if ('notZeroMq' in probed) {
      return `${address} answered, but not as a ZeroMQ socket: check the address and port`;
    }
    if ('mechanism' in probed) {
      return `the peer at ${address} uses ${probed.mechanism} and this side does not (set the curve option here too)`;
    }
    const role = ROLES[probed.type] ?? 'a plain ZeroMQ socket';
    return (
      `the peer at ${address} is a ${probed.type} socket (${role}), and this ${this.mine} (kind '${this.kind}') ` +
      `only talks to a ${this.wanted}: set the same kind on both sides`
    );
  }

  /** The likely causes of a connection closed during the handshake (`plaintext`: this side has no CURVE keys, so a CURVE peer is one). */
  closedDuringHandshake(plaintext: boolean): string {
    const otherSide = this.side === 'client' ? 'server' : 'client';
    return (
      `the connection was closed during the ZeroMQ handshake: most likely the peer's socket kind is not '${this.kind}' ` +
      `(this ${this.mine} only talks to a ${this.wanted}; set the same kind on the ${otherSide})` +
      (plaintext ? ', or the peer uses CURVE and this side does not (set the curve option here too)' : '') +
      ', or the peer is not a ZeroMQ socket'
    );
  }
}
