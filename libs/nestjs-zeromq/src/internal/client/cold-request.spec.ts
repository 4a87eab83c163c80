import { firstValueFrom, lastValueFrom } from 'rxjs';
import { coldRequest } from './cold-request.js';

describe('coldRequest', () => {
  const starter = () => {
    const started: number[] = [];
    const cancelled: number[] = [];
    const start = (subscriber: { next(value: number): void; complete(): void }) => {
      const id = started.length;
      started.push(id);
      queueMicrotask(() => {
        subscriber.next(id);
        subscriber.complete();
      });
      return () => cancelled.push(id);
    };
    return { started, cancelled, start };
  };

  it('starts one request per subscription, none before', async () => {
    const { started, start } = starter();
    const request = coldRequest(
      () => true,
      () => Promise.resolve(),
      start,
    );
    expect(started).toEqual([]);
    expect(await lastValueFrom(request)).toBe(0);
    expect(await lastValueFrom(request)).toBe(1);
    expect(started).toEqual([0, 1]);
  });

  it('waits for connect() when not ready, and an unsubscribe before it starts nothing', async () => {
    const { started, start } = starter();
    let connected!: () => void;
    const connecting = new Promise<void>((resolve) => (connected = resolve));
    const request = coldRequest(
      () => false,
      () => connecting,
      start,
    );
    const dropped = request.subscribe();
    dropped.unsubscribe();
    const answer = firstValueFrom(request);
    connected();
    expect(await answer).toBe(0);
    expect(started).toEqual([0]);
  });

  it('errors the subscriber when connect() fails, and cancels a started request on unsubscribe', async () => {
    const { cancelled, start } = starter();
    await expect(
      lastValueFrom(
        coldRequest(
          () => false,
          () => Promise.reject(new Error('no route')),
          start,
        ),
      ),
    ).rejects.toThrow('no route');
    coldRequest(
      () => true,
      () => Promise.resolve(),
      start,
    )
      .subscribe()
      .unsubscribe();
    expect(cancelled).toEqual([0]);
  });
});
