import type * as zmq from 'zeromq';

/** How a socket secures its connections, read once from its options. */
export interface SocketSecurity {
  curve: boolean;
  curveServer: boolean;
}

export function securityOf(socket: zmq.Socket): SocketSecurity {
  return { curve: socket.securityMechanism === 'curve', curveServer: socket.curveServer };
}

/**
 * Says in words what a failed ZMTP handshake most likely means for this socket. libzmq's own
 * errors are terse ("Broken pipe" is what a CURVE client sees when its server key is wrong), so
 * the explanation names the option to check. `closedByPeer` is what this socket's kind says of a
 * connection its peer closed during the handshake (a socket kind that does not match, a CURVE peer).
 */
export function explainHandshakeFailure(error: Error | undefined, security: SocketSecurity, closedByPeer: string): string {
  const { code, status } = (error ?? {}) as { code?: string; status?: number };
  const detail = error?.message ?? 'no detail';
  if (code === 'ERR_ZMTP_MECHANISM_MISMATCH') {
    return security.curve
      ? 'the peer does not use CURVE (a plaintext peer, or one without the curve option)'
      : 'the peer uses CURVE and this side does not: set the curve option (keys) here too';
  }
  if (status !== undefined) {
    if (status === 500) {
      return "the server's client authentication failed internally (see the server's log)";
    }
    return security.curveServer
      ? `rejected the client's public key (curve.allowClients; ZAP status ${status})`
      : `the server rejected this client's public key: add it to the server's curve.allowClients (ZAP status ${status})`;
  }
  if (code === 'ERR_ZMTP_CRYPTOGRAPHIC') {
    return security.curveServer
      ? "a client failed the CURVE handshake: its curve.serverPublicKey is not this server's public key"
      : 'the CURVE handshake failed: the server does not hold the secret key of curve.serverPublicKey';
  }
  if (security.curveServer && code === 'EFAULT') {
    return 'no client authentication (ZAP handler) was running, so the client was rejected';
  }
  if (security.curve && !security.curveServer) {
    return `the server dropped the connection during the CURVE handshake (${detail}): most likely curve.serverPublicKey is not the server's public key`;
  }
  // What a peer that closed the connection mid-handshake leaves ("Broken pipe"): say what makes one do that.
  if (code === 'EPIPE' || code === 'ECONNRESET') {
    return `${closedByPeer} (${detail})`;
  }
  return detail;
}
