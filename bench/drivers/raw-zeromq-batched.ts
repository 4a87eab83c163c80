import * as zmq from 'zeromq';
import type { BenchMessage } from '../message.js';
import type { BenchConsumer, BenchProducer, MessageSink, TransportDriver } from './driver.js';

const LINGER_MS = 1000;
/** Records per multipart send at most. */
export const MAX_BATCH_RECORDS = 256;
/** JSON text per multipart send at most: large multipart messages are slow, so batches are cut by bytes too. */
export const MAX_BATCH_BYTES = 256 * 1024;
/** Sends a producer may have outstanding: enough to fill batches, as for the Nest rows. */
const WINDOW = 1000;
/** Bytes of a record read to find its header (`p`, `s`, `t` come before the padding `d`). */
const HEADER_BYTES = 96;
const PADDING_KEY = ',"d":';

interface Batch {
  frames: string[];
  bytes: number;
  done: Promise<void>;
  resolve: () => void;
  reject: (error: unknown) => void;
}

function newBatch(): Batch {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const done = new Promise<void>((onResolve, onReject) => {
    resolve = onResolve;
    reject = onReject;
  });
  return { frames: [], bytes: 0, done, resolve, reject };
}

/**
 * The producer's half of the Node limit: JSON records appended to the batch being filled, and one
 * awaited multipart send per batch (one frame per record, the strings as they are). zeromq.js allows
 * one pending send per socket, so batches wait their turn; a lone record leaves at once.
 */
class MultipartBatcher {
  private readonly waiting: Batch[] = [];
  private sending = false;

  constructor(private readonly push: zmq.Push) {}

  send(message: BenchMessage): Promise<void> {
    const text = JSON.stringify(message);
    let batch = this.waiting.at(-1);
    if (batch === undefined || batch.frames.length >= MAX_BATCH_RECORDS || batch.bytes + text.length > MAX_BATCH_BYTES) {
      batch = newBatch();
      this.waiting.push(batch);
    }
    batch.frames.push(text);
    batch.bytes += text.length;
    if (!this.sending) {
      void this.pump();
    }
    return batch.done;
  }

  private async pump(): Promise<void> {
    this.sending = true;
    for (let batch = this.waiting.shift(); batch !== undefined; batch = this.waiting.shift()) {
      try {
        await this.push.send(batch.frames);
        batch.resolve();
      } catch (error) {
        batch.reject(error);
      }
    }
    this.sending = false;
  }
}

/** The record's header without decoding its padding: counting records costs next to nothing. */
function readHeader(frame: Buffer): BenchMessage {
  const head = frame.toString('latin1', 0, Math.min(frame.length, HEADER_BYTES));
  const end = head.indexOf(PADDING_KEY);
  return { ...(JSON.parse(`${head.slice(0, end)}}`) as Omit<BenchMessage, 'd'>), d: '' };
}

/**
 * The Node limit: raw zeromq.js PUSH/PULL with many JSON records per multipart send (up to
 * `MAX_BATCH_RECORDS` records and `MAX_BATCH_BYTES` per send, one `await` per send), read by a PULL
 * that counts records (it reads each record's header for the phase and send time, not its payload).
 */
export const rawZeroMqBatchedDriver: TransportDriver = {
  window: WINDOW,
  async startConsumer(sink: MessageSink): Promise<BenchConsumer> {
    const pull = new zmq.Pull({ linger: LINGER_MS });
    await pull.bind('tcp://127.0.0.1:*');
    const reading = (async () => {
      for await (const frames of pull) {
        for (const frame of frames) {
          sink(readHeader(frame));
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
    const batcher = new MultipartBatcher(push);
    return {
      send: (message) => batcher.send(message),
      close: async () => push.close(),
    };
  },
};
