import { createServer, type Server, type Socket } from 'node:net';
import * as zmq from 'zeromq';
import { ipcDir, LOOPBACK_ANY_PORT } from '../../../test/endpoints.js';
import { probePeerType } from './peer-type-probe.js';

/** A TCP server on loopback that answers every connection with `answer`; closed by `close()`. */
async function fakePeer(answer: (socket: Socket) => void): Promise<{ address: string; close: () => Promise<void> }> {
  const connections = new Set<Socket>();
  const server: Server = createServer((socket) => {
    connections.add(socket);
    socket.on('error', () => undefined);
    answer(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    address: `tcp://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        connections.forEach((socket) => socket.destroy());
        server.close(() => resolve());
      }),
  };
}

/** A ZMTP 3 greeting with the NULL mechanism, as a peer sends it. */
function greeting(): Buffer {
  const bytes = Buffer.alloc(64);
  bytes[0] = 0xff;
  bytes[9] = 0x7f;
  bytes[10] = 3;
  bytes.write('NULL', 12, 'latin1');
  return bytes;
}

describe('probePeerType', () => {
  const ipc = ipcDir();
  afterAll(() => ipc.cleanup());

  it.each([
    ['PULL', () => new zmq.Pull()],
    ['ROUTER', () => new zmq.Router()],
    ['SUB', () => new zmq.Subscriber()],
  ])('names a %s socket over tcp, which sees a handshake and a clean leave', async (type, make) => {
    const socket = make();
    const seen: string[] = [];
    try {
      await socket.bind(LOOPBACK_ANY_PORT);
      const watching = (async () => {
        for await (const event of socket.events) {
          seen.push(event.type);
          if (event.type === 'disconnect') {
            return;
          }
        }
      })();
      expect(await probePeerType(socket.lastEndpoint!, 2_000)).toEqual({ type });
      await watching;
      expect(seen.filter((event) => event.startsWith('handshake'))).toEqual(['handshake']);
    } finally {
      socket.close();
    }
  });

  it('names a socket over ipc', async () => {
    const pull = new zmq.Pull();
    try {
      await pull.bind(ipc.address('probe'));
      expect(await probePeerType(ipc.address('probe'), 2_000)).toEqual({ type: 'PULL' });
    } finally {
      pull.close();
    }
  });

  it('tells a peer that is not ZeroMQ', async () => {
    const http = await fakePeer((socket) => socket.end('HTTP/1.1 400 Bad Request\r\n\r\n'));
    try {
      expect(await probePeerType(http.address, 2_000)).toEqual({ notZeroMq: true });
    } finally {
      await http.close();
    }
  });

  it.each([
    [
      'a READY whose property runs past its end',
      Buffer.from([0x04, 0x0f, 0x05, ...Buffer.from('READY'), 0x0b, ...Buffer.from('Socket-Ty')]),
    ],
    ['a command that is not READY', Buffer.from([0x04, 0x06, 0x05, ...Buffer.from('ERROR')])],
    ['a READY without Socket-Type', Buffer.from([0x04, 0x06, 0x05, ...Buffer.from('READY')])],
  ])('says nothing (and does not throw) for %s', async (_what, command) => {
    const odd = await fakePeer((socket) => socket.end(Buffer.concat([greeting(), command])));
    try {
      expect(await probePeerType(odd.address, 1_000)).toBeUndefined();
    } finally {
      await odd.close();
    }
  });

  it('gives up after its timeout on a peer that never answers, and on an address it cannot probe', async () => {
    const silent = await fakePeer(() => undefined);
    try {
      const started = Date.now();
      expect(await probePeerType(silent.address, 200)).toBeUndefined();
      expect(Date.now() - started).toBeLessThan(2_000);
      expect(await probePeerType('inproc://somewhere', 200)).toBeUndefined();
    } finally {
      await silent.close();
    }
  });
});
