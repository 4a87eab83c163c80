import { lastValueFrom } from 'rxjs';
import { EmitResult } from './emit-result.js';

/** Subscribes and records what the subscriber sees, in order. */
function watch(result: EmitResult) {
  const seen: string[] = [];
  const subscription = result.subscribe({
    next: (value) => seen.push(`next:${String(value)}`),
    complete: () => seen.push('complete'),
    error: (error: Error) => seen.push(`error:${error.message}`),
  });
  return { seen, subscription };
}

describe('EmitResult', () => {
  it('gives a subscriber present at the send next(undefined) then complete, and a later one only complete', () => {
    const result = new EmitResult();
    const early = watch(result);
    expect(early.seen).toEqual([]);
    result.resolve();
    expect(early.seen).toEqual(['next:undefined', 'complete']);
    expect(watch(result).seen).toEqual(['complete']);
  });

  it('brings a failure to early and late subscribers', () => {
    const result = new EmitResult();
    const early = watch(result);
    result.reject(new Error('SEND_TIMEOUT'));
    expect(early.seen).toEqual(['error:SEND_TIMEOUT']);
    expect(watch(result).seen).toEqual(['error:SEND_TIMEOUT']);
  });

  it('settles once: what comes after the first outcome is ignored', () => {
    const sent = new EmitResult();
    sent.resolve();
    sent.reject(new Error('too late'));
    expect(watch(sent).seen).toEqual(['complete']);

    const failed = new EmitResult();
    const early = watch(failed);
    failed.reject(new Error('first'));
    failed.reject(new Error('second'));
    failed.resolve();
    expect(early.seen).toEqual(['error:first']);
    expect(watch(failed).seen).toEqual(['error:first']);
  });

  it('fails without a subscriber without raising an unhandled error', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const result = new EmitResult();
      expect(() => result.reject(new Error('nobody listens'))).not.toThrow();
      await new Promise((resolve) => setImmediate(resolve));
      expect(unhandled).toEqual([]);
      // The failure is kept for whoever subscribes later.
      expect(watch(result).seen).toEqual(['error:nobody listens']);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('tells nothing to a subscriber that unsubscribed before the outcome, and the others still hear it', () => {
    const result = new EmitResult();
    const gone = watch(result);
    const staying = watch(result);
    gone.subscription.unsubscribe();
    result.resolve();
    expect(gone.seen).toEqual([]);
    expect(staying.seen).toEqual(['next:undefined', 'complete']);

    const failing = new EmitResult();
    const left = watch(failing);
    left.subscription.unsubscribe();
    failing.reject(new Error('after unsubscribe'));
    expect(left.seen).toEqual([]);
  });

  it('works with lastValueFrom as users await an emit: resolves when sent, rejects with the failure', async () => {
    const sent = new EmitResult();
    const awaited = lastValueFrom(sent);
    sent.resolve();
    expect(await awaited).toBeUndefined();
    const failed = new EmitResult();
    const rejected = lastValueFrom(failed);
    failed.reject(new Error('QUEUE_FULL'));
    await expect(rejected).rejects.toThrow('QUEUE_FULL');
  });
});
