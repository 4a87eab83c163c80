import { explainHandshakeFailure } from './handshake-failure.js';

const closedByPeer = 'the connection was closed during the ZeroMQ handshake: the peer uses CURVE and this side does not';
const brokenPipe = Object.assign(new Error('Broken pipe'), { code: 'EPIPE' });

describe('explainHandshakeFailure', () => {
  it('explains a bare "Broken pipe" on a plaintext socket as a peer that closed the handshake, keeping the detail', () => {
    expect(explainHandshakeFailure(brokenPipe, { curve: false, curveServer: false }, closedByPeer)).toBe(`${closedByPeer} (Broken pipe)`);
  });

  it('explains it on a CURVE client as a wrong server key', () => {
    expect(explainHandshakeFailure(brokenPipe, { curve: true, curveServer: false }, closedByPeer)).toContain('curve.serverPublicKey');
  });

  it('passes other errors through', () => {
    expect(explainHandshakeFailure(new Error('odd'), { curve: false, curveServer: false }, closedByPeer)).toBe('odd');
  });
});
