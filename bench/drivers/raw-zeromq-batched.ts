import * as zmq from 'zeromq';
import type { BenchMessage } from '../message.js';
import type { BenchConsumer, BenchProducer, MessageSink, TransportDriver } from './driver.js';

const LINGER_MS = 1000;
/** Records per multipart send at most. */
export const MAX_BATCH_RECORDS = 256;
/** JSON text per multipart send at most: large multipart messages are slow, so batches are cut by bytes too. */
export const MAX_BATCH_BYTES = 256 * 1024;

/**
 * The Node limit: raw zeromq.js PUSH/PULL, JSON records sent as multipart messages (one string
 * frame per record, at most `MAX_BATCH_RECORDS` records and `MAX_BATCH_BYTES` per send) in a tight
 * loop that awaits each send (`sendBatch`: no promise or callback per record), read by a PULL
 * that parses every record (`JSON.parse`) and counts it. What a Node producer and consumer get
 * through zeromq.js at best, so no row built on zeromq.js should beat it.
 */
export const rawZeroMqBatchedDriver: TransportDriver = {
  // With sendBatch: the records handed over per call.
  window: MAX_BATCH_RECORDS,
  async startConsumer(sink: MessageSink): Promise<BenchConsumer> {
    const pull = new zmq.Pull({ linger: LINGER_MS });
    await pull.bind('tcp://127.0.0.1:*');
    const reading = (async () => {
      for await (const frames of pull) {
        for (const frame of frames) {
          sink(JSON.parse(frame.toString('utf8')) as BenchMessage);
        }
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
      send: (message) => push.send([JSON.stringify(message)]),
      async sendBatch(messages) {
        let frames: string[] = [];
        let bytes = 0;
        for (const message of messages) {
          const text = JSON.stringify(message);
          if (frames.length > 0 && bytes + text.length > MAX_BATCH_BYTES) {
            await push.send(frames);
            frames = [];
            bytes = 0;
          }
          frames.push(text);
          bytes += text.length;
        }
        if (frames.length > 0) {
          await push.send(frames);
        }
      },
      close: async () => push.close(),
    };
  },
};
