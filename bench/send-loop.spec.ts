import type { BenchMessage } from './message.js';
import type { PhaseSpec } from './protocol.js';
import { runSendPhase, type Sender } from './send-loop.js';

const phase = (fields: Partial<PhaseSpec>): PhaseSpec => ({
  id: 7,
  kind: 'throughput',
  payloadBytes: 100,
  count: 1000,
  sendTimeoutMs: 10_000,
  ...fields,
});

/** A sender with `sendBatch` that keeps the size of every call and the sequence numbers it got. */
function batchingSender(): Sender & { calls: number[]; sequences: number[] } {
  const calls: number[] = [];
  const sequences: number[] = [];
  return {
    calls,
    sequences,
    send: () => Promise.reject(new Error('a batching sender is driven by sendBatch')),
    sendBatch: (messages: BenchMessage[]) => {
      calls.push(messages.length);
      sequences.push(...messages.map((message) => message.s));
      return Promise.resolve();
    },
  };
}

describe('bench send loop', () => {
  it('drives a producer with sendBatch by whole batches of `window` messages, in order, in both modes', async () => {
    for (const burst of [undefined, 300]) {
      const sender = batchingSender();
      const report = await runSendPhase(sender, phase({ count: 1000, burst }), 256);
      expect(sender.calls).toEqual([256, 256, 256, 232]);
      expect(sender.sequences).toEqual(Array.from({ length: 1000 }, (_, index) => index));
      expect(report).toMatchObject({ sent: 1000, failed: 0 });
    }
  });

  it('counts every message of a failed batch as failed, by error code', async () => {
    const sender: Sender = {
      send: () => Promise.resolve(),
      sendBatch: () => Promise.reject(Object.assign(new Error('full'), { code: 'EAGAIN' })),
    };
    const report = await runSendPhase(sender, phase({ count: 300 }), 256);
    expect(report).toMatchObject({ sent: 0, failed: 300, errors: { EAGAIN: 300 } });
  });

  it('paces a phase, recording each send’s lag against its schedule and each call’s completion', async () => {
    for (const sender of [batchingSender(), { send: () => Promise.resolve() }]) {
      const report = await runSendPhase(sender, phase({ kind: 'latency', count: 50, rate: 10_000 }), 1000);
      expect(report.sent).toBe(50);
      expect(report.lag?.count).toBe(50);
      expect(report.completion?.count).toBe(50);
    }
  });

  it('reports no lag or completion for unpaced phases', async () => {
    const report = await runSendPhase({ send: () => Promise.resolve() }, phase({ count: 10 }), 1);
    expect(report).toMatchObject({ sent: 10, lag: undefined, completion: undefined });
  });
});
