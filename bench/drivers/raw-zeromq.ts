import * as zmq from 'zeromq';
import type { BenchMessage } from '../message.js';
import type { BenchConsumer, BenchProducer, MessageSink, TransportDriver } from './driver.js';

const LINGER_MS = 1000;

/**
 * The naive baseline: zeromq.js PUSH/PULL, one JSON frame per message and `await send()` before
 * the next one, as a first program with zeromq.js would do it.
 */
export const rawZeroMqDriver: TransportDriver = {
  window: 1,
  // zeromq.js allows one pending send per socket: a burst is a loop of awaited sends here too.
  burst: 'window',
  async startConsumer(sink: MessageSink): Promise<BenchConsumer> {
    const pull = new zmq.Pull({ linger: LINGER_MS });
    await pull.bind('tcp://127.0.0.1:*');
    const reading = (async () => {
      for await (const [frame] of pull) {
        sink(JSON.parse(frame.toString('utf8')) as BenchMessage);
      }
    })();
    return {
      endpoint: pull.lastEndpoint!,
      close: async () => {
        pull.close();
        await reading;
      },
    };
  },
  async startProducer(endpoint: string): Promise<BenchProducer> {
    const push = new zmq.Push({ linger: LINGER_MS });
    push.connect(endpoint);
    return {
      send: (message) => push.send(JSON.stringify(message)),
      close: async () => push.close(),
    };
  },
};
