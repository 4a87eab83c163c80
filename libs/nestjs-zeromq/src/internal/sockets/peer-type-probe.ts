import { connect, type Socket } from 'node:net';

/** What a probe learnt of the peer at an address. */
export type ProbedPeer = { type: string } | { mechanism: string } | { notZeroMq: true } | undefined;

/** The socket type that completes a handshake with each type (so the peer sees a clean connect and leave). */
const MATCHING_TYPE: Record<string, string> = {
  PULL: 'PUSH',
  PUSH: 'PULL',
  ROUTER: 'DEALER',
  DEALER: 'DEALER',
  SUB: 'PUB',
  XSUB: 'PUB',
  PUB: 'SUB',
  XPUB: 'SUB',
  REQ: 'REP',
  REP: 'REQ',
  PAIR: 'PAIR',
};

const GREETING_BYTES = 64;
const NULL_MECHANISM = 'NULL';

/**
 * Asks the ZeroMQ peer at a `tcp://host:port` or `ipc://path` address which socket type it is: a
 * ZMTP 3 greeting with the NULL mechanism, then the peer's READY command, whose `Socket-Type`
 * property names it. libzmq tells neither side which types met when it refuses a pair; this is how
 * the error can say. The probe answers with a READY of a type the peer accepts before it leaves, so
 * the peer sees an ordinary connection come and go. Resolves undefined when it cannot tell within
 * `timeout` ms (never rejects).
 */
export function probePeerType(address: string, timeout: number): Promise<ProbedPeer> {
  const target = netTarget(address);
  if (target === undefined) {
    return Promise.resolve(undefined);
  }
  return new Promise((resolve) => {
    let received = Buffer.alloc(0);
    let settled = false;
    const socket: Socket = connect(target);
    const finish = (result: ProbedPeer) => {
      if (!settled) {
        settled = true;
        clearTimeout(timer);
        socket.destroy();
        resolve(result);
      }
    };
    const timer = setTimeout(() => finish(undefined), timeout);
    socket.on('connect', () => socket.write(greeting()));
    socket.on('error', () => finish(undefined));
    socket.on('close', () => finish(received.length > 0 && received[0] !== 0xff ? { notZeroMq: true } : undefined));
    socket.on('data', (chunk: Buffer) => {
      try {
        received = Buffer.concat([received, chunk]);
        answer(received);
      } catch {
        // Not the ZMTP this reads: say nothing rather than something wrong.
        finish(undefined);
      }
    });
    const answer = (received: Buffer) => {
      if (received[0] !== 0xff) {
        finish({ notZeroMq: true });
        return;
      }
      if (received.length < GREETING_BYTES) {
        return;
      }
      const mechanism = received.subarray(12, 32).toString('latin1').replace(/\0+$/, '');
      if (mechanism !== NULL_MECHANISM) {
        finish({ mechanism });
        return;
      }
      const type = socketTypeOf(received.subarray(GREETING_BYTES));
      if (type !== undefined) {
        const matching = MATCHING_TYPE[type];
        if (matching === undefined) {
          finish({ type });
        } else {
          socket.end(readyCommand(matching), () => finish({ type }));
        }
      }
    };
  });
}

function netTarget(address: string): { host: string; port: number } | { path: string } | undefined {
  if (address.startsWith('ipc://')) {
    return { path: address.slice('ipc://'.length) };
  }
  const tcp = /^tcp:\/\/\[?([^\]]+?)\]?:(\d+)$/.exec(address);
  return tcp === null ? undefined : { host: tcp[1], port: Number(tcp[2]) };
}

/** A ZMTP 3.0 greeting: signature, version 3.0, the NULL mechanism, as a client. */
function greeting(): Buffer {
  const bytes = Buffer.alloc(GREETING_BYTES);
  bytes[0] = 0xff;
  bytes[9] = 0x7f;
  bytes[10] = 3;
  bytes.write(NULL_MECHANISM, 12, 'latin1');
  return bytes;
}

/** The `Socket-Type` of the first command frame in `bytes` if it is a complete READY, else undefined. */
function socketTypeOf(bytes: Buffer): string | undefined {
  if (bytes.length < 2) {
    return undefined;
  }
  const long = (bytes[0] & 0x02) !== 0;
  const headerBytes = long ? 9 : 2;
  if (bytes.length < headerBytes) {
    return undefined;
  }
  const size = long ? Number(bytes.readBigUInt64BE(1)) : bytes[1];
  if (bytes.length < headerBytes + size) {
    return undefined;
  }
  const body = bytes.subarray(headerBytes, headerBytes + size);
  let offset = 1 + body[0];
  if (body.subarray(1, offset).toString('latin1') !== 'READY') {
    return undefined;
  }
  while (offset < body.length) {
    const nameLength = body[offset];
    const name = body.subarray(offset + 1, offset + 1 + nameLength).toString('latin1');
    offset += 1 + nameLength;
    const valueLength = body.readUInt32BE(offset);
    const value = body.subarray(offset + 4, offset + 4 + valueLength).toString('latin1');
    offset += 4 + valueLength;
    if (name.toLowerCase() === 'socket-type') {
      return value;
    }
  }
  return undefined;
}

/** A READY command naming `type`: what a NULL-mechanism peer sends after the greeting. */
function readyCommand(type: string): Buffer {
  const name = Buffer.from('\u0005READY', 'latin1');
  const property = Buffer.concat([Buffer.from('\u000bSocket-Type', 'latin1'), Buffer.alloc(4), Buffer.from(type, 'latin1')]);
  property.writeUInt32BE(type.length, 12);
  const body = Buffer.concat([name, property]);
  return Buffer.concat([Buffer.from([0x04, body.length]), body]);
}
