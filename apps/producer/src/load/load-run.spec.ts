import { LoadRun } from './load-run.js';

/** A send that settles when the test says so. */
function controllableSends() {
  const pending: Array<{ index: number; resolve: () => void; reject: (error: Error) => void }> = [];
  const send = (index: number) => new Promise<void>((resolve, reject) => pending.push({ index, resolve, reject }));
  return { pending, send };
}

describe('LoadRun', () => {
  it('counts sent and failed sends, keeps the first error and resolves when all have settled', async () => {
    const run = new LoadRun(
      async (index) => {
        if (index % 4 === 0) {
          throw new Error(`send ${index} failed`);
        }
      },
      { count: 10, rate: 0, window: 3 },
    );
    await run.run();
    expect({ started: run.started, sent: run.sent, failed: run.failed }).toEqual({ started: 10, sent: 7, failed: 3 });
    expect((run.firstError as Error).message).toBe('send 0 failed');
  });

  it('never has more than `window` sends pending', async () => {
    const { pending, send } = controllableSends();
    const run = new LoadRun(send, { count: 7, rate: 0, window: 3 });
    const done = run.run();
    let maxPending = 0;
    for (let settled = 0; settled < 7; settled++) {
      await new Promise((resolve) => setImmediate(resolve));
      maxPending = Math.max(maxPending, pending.length);
      pending.shift()!.resolve();
    }
    await done;
    expect(maxPending).toBe(3);
    expect(run.sent).toBe(7);
  });

  it('paces the starts at `rate` per second', async () => {
    const starts: number[] = [];
    const run = new LoadRun(
      async () => {
        starts.push(performance.now());
      },
      { count: 41, rate: 400, window: 100 },
    );
    await run.run();
    // 40 intervals of 2.5 ms: the last start cannot come before 100 ms after the first.
    expect(starts[40] - starts[0]).toBeGreaterThanOrEqual(95);
  });

  it('stops starting sends once aborted and still waits for those pending', async () => {
    const { pending, send } = controllableSends();
    const stop = new AbortController();
    const run = new LoadRun(send, { count: 1_000, rate: 0, window: 2, signal: stop.signal });
    const done = run.run();
    await new Promise((resolve) => setImmediate(resolve));
    stop.abort();
    pending.splice(0).forEach((entry) => entry.resolve());
    await done;
    expect(run.started).toBe(2);
    expect(run.sent).toBe(2);
  });
});
