import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FragmentWriter, recordFields } from '../protocol/wire.js';
import { LmdbOutbox } from './lmdb-outbox.js';

/** The LMDB store of one route, driven directly: orders of writes that the tracker can produce. */
describe('LmdbOutbox', () => {
  let directory: string;
  let outbox: LmdbOutbox | undefined;
  const writer = new FragmentWriter();
  const packed = (id: string) =>
    writer.write(recordFields.delivery(id, 1, 5, { pattern: 'jobs', info: 'j', payload: '{"seq":1}', size: 9 }));

  beforeEach(() => {
    directory = mkdtempSync(join(tmpdir(), 'nestjs-zeromq-lmdb-'));
  });

  afterEach(async () => {
    await outbox?.close();
    outbox = undefined;
    rmSync(directory, { recursive: true, force: true });
  });

  const open = async () =>
    (outbox = await LmdbOutbox.open({ path: join(directory, 'outbox'), durability: 'commit', onWriteError: () => undefined }));

  it('dead-letters a message whose write is not committed yet: it leaves the outbox table for the dead-letter table', async () => {
    const store = (await open()).route('default', 1_000_000);
    const stored = store.add(1, packed('p.1'));
    // Same event turn: the add is queued, not committed.
    store.deadLetter(1, { messageId: 'p.1', pattern: 'jobs', reason: 'refused', attempts: 1, deadAt: Date.now() }, packed('p.1'));
    await stored;
    await store.committed();
    await outbox!.close();
    const reopened = (await open()).route('default', 1_000_000);
    expect(reopened.count).toBe(0);
    expect(reopened.deadLetterCount()).toBe(1);
  });

  it('removes acked messages in one transaction per turn, also when the add and the ack share a turn, and on close', async () => {
    const store = (await open()).route('default', 1_000_000);
    const adds = [1, 2, 3].map((key) => store.add(key, packed(`p.${key}`)));
    store.remove(1);
    await Promise.all(adds);
    store.remove(2);
    // Closed before the turn ends: the pending removal is written first.
    await outbox!.close();
    const reopened = (await open()).route('default', 1_000_000);
    expect(reopened.readAfter(0, 10).map((message) => message.key)).toEqual([3]);
    expect(reopened.lastKey).toBe(3);
  });

  it('counts what an earlier process stored and continues its keys', async () => {
    const store = (await open()).route('default', 1_000_000);
    await Promise.all([store.add(5, packed('p.5')), store.add(9, packed('p.9'))]);
    await outbox!.close();
    const reopened = (await open()).route('default', 1_000_000);
    expect({ count: reopened.count, lastKey: reopened.lastKey }).toEqual({ count: 2, lastKey: 9 });
    expect(reopened.bytes).toBeGreaterThan(0);
    expect(reopened.oldestStoredAt()).toBeLessThanOrEqual(Date.now());
  });
});
