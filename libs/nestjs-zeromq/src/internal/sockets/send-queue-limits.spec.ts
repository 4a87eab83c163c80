import { jest } from '@jest/globals';
import { controlledTransmit, testQueue, type TestItem } from '../../../test/send-queue-harness.js';
import { SendRefused, type SendQueueOptions } from './send-queue.js';

/** The limits and error texts of SendQueue at their exact edges (the mutation run found them unheld). */
type Item = TestItem;
/** Batches of 10 and a 1 s send timeout unless a test says otherwise. */
const queue = (transmit: (batch: Item[]) => Promise<void>, options: Partial<SendQueueOptions<Item>> = {}) =>
  testQueue(transmit, { maxBatchSize: 10, sendTimeout: 1_000, ...options });

const flush = () => new Promise((resolve) => setImmediate(resolve));
const item = (id: number, size = 10, key?: string): Item => ({ id, size, key });
const outcome = (promise: Promise<void>) =>
  promise.then(
    () => 'sent',
    (error: Error & { code: string }) => `${error.code} ${error.message}`,
  );
const EAGAIN = Object.assign(new Error('Socket temporarily unavailable'), { code: 'EAGAIN' });

describe('SendQueue limits', () => {
  it('takes maxQueueSize waiting items and refuses the next, saying so', async () => {
    const wire = controlledTransmit();
    const q = queue(wire.transmit, { maxQueueSize: 2 });
    void q.enqueue(item(0));
    await flush(); // item 0 is being sent: it no longer waits
    const results = [1, 2, 3].map((id) => outcome(q.enqueue(item(id))));
    expect(q.length).toBe(2);
    expect(await results[2]).toBe('QUEUE_FULL 3: 2 messages are already queued (maxQueueSize)');
  });

  it('takes waiting bytes up to maxQueueBytes exactly, and keeps the count right when it drops the oldest', async () => {
    const wire = controlledTransmit();
    const q = queue(wire.transmit, { maxQueueBytes: 30 });
    void q.enqueue(item(0));
    await flush();
    [1, 2, 3].forEach((id) => void q.enqueue(item(id)));
    expect(await outcome(q.enqueue(item(4)))).toBe('QUEUE_FULL 4: 30 bytes are already queued (maxQueueBytes 30)');

    const dropping = queue(controlledTransmit().transmit, { maxQueueBytes: 30, overflow: 'drop-oldest' });
    const first = outcome(dropping.enqueue(item(1)));
    const later = [2, 3, 4, 5].map((id) => outcome(dropping.enqueue(item(id))));
    expect(await first).toBe(
      "DROPPED 1: 30 bytes are already queued (maxQueueBytes 30); dropped the oldest to make room (overflow: 'drop-oldest')",
    );
    // Each newcomer dropped exactly one: 3, 4 and 5 wait (30 bytes).
    expect(dropping.length).toBe(3);
    expect((await later[0]).split(' ')[0]).toBe('DROPPED');
  });

  it('says why it fails items when closed, and drain() waits for the send under way', async () => {
    const wire = controlledTransmit();
    const q = queue(wire.transmit, { maxBatchSize: 1 });
    const sent = outcome(q.enqueue(item(1)));
    const waiting = outcome(q.enqueue(item(2)));
    await flush();
    // A long timeout: drain() must end when the queue goes idle, not when the timeout runs out.
    const drained = q.drain(60_000);
    expect(await outcome(q.enqueue(item(3)))).toBe('CLOSED 3: closed');
    wire.complete(); // item 1 gets through while drain() waits; item 2 goes next
    await flush();
    wire.fail(new Error('socket closed'));
    expect(await drained).toBe(0);
    expect([await sent, await waiting]).toEqual(['sent', 'CLOSED 2: closed before it could be sent']);
    expect(await queue(controlledTransmit().transmit).drain(60_000)).toBe(0);
  });

  it('sends again once idle, and fails with CLOSED what still waits when drain() times out', async () => {
    const wire = controlledTransmit();
    const q = queue(wire.transmit, { maxBatchSize: 1 });
    const first = outcome(q.enqueue(item(1)));
    await flush();
    wire.complete();
    expect(await first).toBe('sent');
    await flush(); // idle now: the next item must start a send of its own
    const second = outcome(q.enqueue(item(2)));
    const third = outcome(q.enqueue(item(3)));
    await flush();
    expect(wire.batches).toEqual([[1], [2]]);
    expect(await q.drain(10)).toBe(2);
    expect(await third).toBe('CLOSED 3: closed before it could be sent');
    wire.fail(new Error('socket closed'));
    expect(await second).toBe('CLOSED 2: closed before it could be sent');
  });

  it('on a send timeout, fails the batch and expires only what waited as long; younger items go next', async () => {
    const wire = controlledTransmit();
    const q = queue(wire.transmit, { maxBatchSize: 1, sendTimeout: 60_000 });
    const first = outcome(q.enqueue(item(1)));
    await flush();
    const second = outcome(q.enqueue(item(2)));
    wire.fail(EAGAIN);
    expect(await first).toBe(
      'SEND_TIMEOUT 1: no peer accepted it within 60000 ms (sendTimeout): no peer connected, or all at their high-water mark',
    );
    await flush();
    expect(wire.batches).toEqual([[1], [2]]);
    wire.complete();
    expect(await second).toBe('sent');
  });

  it('keeps sending after a send timeout expired every waiting item', async () => {
    const wire = controlledTransmit();
    const q = queue(wire.transmit, { maxBatchSize: 1, sendTimeout: 0 });
    const expired = [1, 2].map((id) => outcome(q.enqueue(item(id))));
    await flush();
    await new Promise((resolve) => setTimeout(resolve, 2)); // item 2 is now older than the cutoff
    wire.fail(EAGAIN);
    expect((await Promise.all(expired)).map((text) => text.split(' ')[0])).toEqual(['SEND_TIMEOUT', 'SEND_TIMEOUT']);
    const later = outcome(q.enqueue(item(3)));
    await flush();
    wire.complete();
    expect(await later).toBe('sent');
  });

  it('treats a SEND_TIMEOUT refusal as a send timeout: its detail says why, and items waiting as long expire with it', async () => {
    const wire = controlledTransmit();
    const q = queue(wire.transmit, { maxBatchSize: 1, sendTimeout: 0 });
    const results = [1, 2].map((id) => outcome(q.enqueue(item(id))));
    await flush();
    await new Promise((resolve) => setTimeout(resolve, 2)); // item 2 is now older than the cutoff
    wire.fail(new SendRefused('SEND_TIMEOUT', 'no peer completed the handshake'));
    const detail = 'no peer accepted it within 0 ms (sendTimeout): no peer connected, or all at their high-water mark';
    expect(await Promise.all(results)).toEqual([`SEND_TIMEOUT 1: ${detail}`, `SEND_TIMEOUT 2: ${detail}`]);
    expect(wire.batches).toEqual([[1]]);
  });

  it('expires an item enqueued in the very millisecond of the cutoff', async () => {
    const now = jest.spyOn(Date, 'now').mockReturnValue(1_000);
    try {
      const wire = controlledTransmit();
      const q = queue(wire.transmit, { maxBatchSize: 1, sendTimeout: 0 });
      const results = [1, 2].map((id) => outcome(q.enqueue(item(id))));
      await flush();
      wire.fail(EAGAIN); // the cutoff is 1,000 - 0: item 2, enqueued at 1,000, is as old as it
      expect((await Promise.all(results)).map((text) => text.split(' ')[0])).toEqual(['SEND_TIMEOUT', 'SEND_TIMEOUT']);
      expect(wire.batches).toEqual([[1]]);
    } finally {
      now.mockRestore();
    }
  });

  it('fails a batch with the code a refusal names, or SEND_FAILED with the error of any other failure', async () => {
    const wire = controlledTransmit();
    const q = queue(wire.transmit, { maxBatchSize: 1 });
    const results = [1, 2].map((id) => outcome(q.enqueue(item(id))));
    await flush();
    wire.fail(new SendRefused('PEER_REJECTED', 'the peer refused the connection'));
    await flush();
    wire.fail(new Error('boom'));
    expect(await Promise.all(results)).toEqual(['PEER_REJECTED 1: the peer refused the connection', 'SEND_FAILED 2: boom']);
  });

  it('batches up to maxBatchBytes exactly, sends an item larger than it alone, and splits batches by key', async () => {
    const wire = controlledTransmit();
    const q = queue(wire.transmit, { maxBatchBytes: 30, batchKey: (entry) => entry.key });
    [item(1), item(2), item(3), item(4, 50), item(5, 10, 'x'), item(6, 10, 'x'), item(7)].forEach((entry) => void q.enqueue(entry));
    for (let batch = 0; batch < 4; batch++) {
      await flush();
      wire.complete();
    }
    expect(wire.batches).toEqual([[1, 2, 3], [4], [5, 6], [7]]);
  });
});
