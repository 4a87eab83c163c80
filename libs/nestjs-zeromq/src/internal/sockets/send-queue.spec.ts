import { controlledTransmit, testQueue, type TestItem } from '../../../test/send-queue-harness.js';

type Item = TestItem;
const queue = testQueue;

const flush = () => new Promise((resolve) => setImmediate(resolve));
const item = (id: number, size = 10): Item => ({ id, size });

describe('SendQueue', () => {
  it('sends a burst as batches, one send at a time, in order', async () => {
    const wire = controlledTransmit();
    const q = queue(wire.transmit);
    const sent = [1, 2, 3, 4, 5].map((id) => q.enqueue(item(id)));
    await flush();
    expect(wire.batches).toEqual([[1, 2, 3]]);
    wire.complete();
    await flush();
    expect(wire.batches).toEqual([
      [1, 2, 3],
      [4, 5],
    ]);
    wire.complete();
    await Promise.all(sent);
  });

  it('sends a lone item at once and respects maxBatchBytes', async () => {
    const wire = controlledTransmit();
    const q = queue(wire.transmit, { maxBatchBytes: 25 });
    void q.enqueue(item(1));
    await flush();
    expect(wire.batches).toEqual([[1]]);
    [2, 3, 4].forEach((id) => void q.enqueue(item(id)));
    wire.complete();
    await flush();
    expect(wire.batches.at(-1)).toEqual([2, 3]);
  });

  it('fails the batch on a send timeout and expires items queued as long', async () => {
    const wire = controlledTransmit();
    const q = queue(wire.transmit, { maxBatchSize: 1, sendTimeout: 0 });
    const results = [1, 2, 3].map((id) =>
      q.enqueue(item(id)).then(
        () => 'sent',
        (e: { code: string }) => e.code,
      ),
    );
    await flush();
    wire.fail(Object.assign(new Error('Socket temporarily unavailable'), { code: 'EAGAIN' }));
    expect(await Promise.all(results)).toEqual(['SEND_TIMEOUT', 'SEND_TIMEOUT', 'SEND_TIMEOUT']);
    expect(wire.batches).toHaveLength(1);
  });

  it('bounds the bytes waiting: rejects, or drops as many of the oldest as it takes', async () => {
    const wire = controlledTransmit();
    const rejecting = queue(wire.transmit, { maxQueueBytes: 100 });
    void rejecting.enqueue(item(0, 10));
    await flush(); // item 0 is being sent: it no longer counts as waiting
    [1, 2].forEach((id) => void rejecting.enqueue(item(id, 40)));
    await expect(rejecting.enqueue(item(3, 40))).rejects.toMatchObject({ code: 'QUEUE_FULL' });
    // A large item still enters an empty queue.
    const lone = queue(controlledTransmit().transmit, { maxQueueBytes: 100 });
    void lone.enqueue(item(9, 500));
    expect(lone.length).toBe(1);

    const dropping = queue(controlledTransmit().transmit, { maxQueueBytes: 100, overflow: 'drop-oldest' });
    const outcomes = [item(1, 40), item(2, 40), item(3, 90)].map((entry) => dropping.enqueue(entry).catch((e: { code: string }) => e.code));
    expect(await Promise.all(outcomes.slice(0, 2))).toEqual(['DROPPED', 'DROPPED']);
    expect(dropping.length + dropping.sending).toBe(1);
  });

  it('drain() waits for the queue, then fails what is left and counts it', async () => {
    const wire = controlledTransmit();
    const q = queue(wire.transmit);
    const results = [1, 2, 3, 4].map((id) =>
      q.enqueue(item(id)).then(
        () => 'sent',
        (e: { code: string }) => e.code,
      ),
    );
    await flush();
    const drained = q.drain(20);
    await expect(q.enqueue(item(5))).rejects.toMatchObject({ code: 'CLOSED' });
    expect(await drained).toBe(4);
    wire.fail(Object.assign(new Error('closed'), { code: 'EAGAIN' }));
    expect(await Promise.all(results)).toEqual(['CLOSED', 'CLOSED', 'CLOSED', 'CLOSED']);
  });
});
