import { SendQueue, type SendQueueOptions } from '../src/internal/sockets/send-queue.js';

/** What the SendQueue specs queue: an id to follow, a size in bytes, and a batch key. */
export type TestItem = { id: number; size: number; key?: string };

/** A transmit whose sends complete (or fail) when the test says so. */
export function controlledTransmit() {
  const batches: number[][] = [];
  const pending: Array<{ resolve: () => void; reject: (error: unknown) => void }> = [];
  return {
    batches,
    transmit: (batch: TestItem[]) => {
      batches.push(batch.map((item) => item.id));
      return new Promise<void>((resolve, reject) => pending.push({ resolve, reject }));
    },
    complete: () => pending.shift()!.resolve(),
    fail: (error: unknown) => pending.shift()!.reject(error),
  };
}

/** A SendQueue of TestItems over `transmit`; errors carry their code and the item's id. */
export function testQueue(transmit: (batch: TestItem[]) => Promise<void>, options: Partial<SendQueueOptions<TestItem>> = {}) {
  return new SendQueue<TestItem>({
    maxQueueSize: 100,
    maxQueueBytes: 10_000,
    overflow: 'reject',
    maxBatchSize: 3,
    maxBatchBytes: 1_000,
    sendTimeout: 50,
    transmit,
    sizeOf: (item) => item.size,
    toError: (item, code, detail) => Object.assign(new Error(`${item.id}: ${detail}`), { code }),
    ...options,
  });
}
