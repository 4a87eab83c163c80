import type * as zmq from 'zeromq';
import { BIND_RETRY_DEADLINE } from '../../constants.js';

const BIND_RETRY_PAUSE = 50;

/**
 * Binds, retrying EADDRINUSE for up to BIND_RETRY_DEADLINE ms: a tcp port or an inproc name that a
 * just-closed socket held is released asynchronously (by libzmq's reaper), not at close().
 */
export async function bindRetrying(socket: zmq.Socket, address: string): Promise<void> {
  const deadline = Date.now() + BIND_RETRY_DEADLINE;
  for (;;) {
    try {
      await socket.bind(address);
      return;
    } catch (error) {
      if ((error as { code?: string }).code !== 'EADDRINUSE' || Date.now() >= deadline) {
        throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, BIND_RETRY_PAUSE));
    }
  }
}
