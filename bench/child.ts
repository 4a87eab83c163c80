/**
 * A benchmark process: `node child.js consumer|producer <row id>`, driven by the coordinator over
 * the IPC channel (protocol.ts). It exits after `close`, on any error, or when the coordinator goes.
 */
import 'reflect-metadata';
import { peakRssBytes, RssSampler } from './clock.js';
import type { BenchConsumer, BenchProducer, TransportDriver } from './drivers/driver.js';
import type { ChildMessage, ParentMessage } from './protocol.js';
import { EndMarkers } from './end-markers.js';
import { Recorder } from './recorder.js';
import { findRow } from './rows.js';
import { runSendPhase, type Sender } from './send-loop.js';

type Role = 'consumer' | 'producer';

function tell(message: ChildMessage): Promise<void> {
  return new Promise((resolve) => process.send!(message, undefined, {}, () => resolve()));
}

async function fail(error: unknown): Promise<never> {
  const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
  await tell({ type: 'failed', message }).catch(() => undefined);
  process.exit(1);
}

async function main(): Promise<void> {
  const [role, rowId] = process.argv.slice(2) as [Role, string];
  if (process.send === undefined) {
    throw new Error('bench/child.js runs under the bench coordinator (npm run bench), not on its own');
  }
  const row = findRow(rowId);
  if (row.driver === undefined) {
    throw new Error(`Row "${rowId}" has no driver`);
  }
  const driver: TransportDriver = await row.driver();
  const rss = new RssSampler();
  const recorder = new Recorder((report) => void tell({ type: 'received', report }));
  let consumer: BenchConsumer | undefined;
  let producer: BenchProducer | undefined;
  let endMarkers: EndMarkers | undefined;

  const sender = (): Sender => {
    if (producer !== undefined) {
      return producer;
    }
    if (consumer?.inject !== undefined) {
      return { send: consumer.inject };
    }
    throw new Error(`The ${role} of row "${rowId}" cannot send`);
  };

  const handle = async (message: ParentMessage): Promise<void> => {
    switch (message.type) {
      case 'open':
        if (role === 'consumer') {
          consumer = await driver.startConsumer(recorder.record, message.endpoint);
          await tell({ type: 'opened', endpoint: consumer.endpoint });
        } else {
          producer = await driver.startProducer!(message.endpoint!, {
            endpoints: message.endpoints ?? [message.endpoint!],
            subscribers: message.subscribers ?? 1,
          });
          await tell({ type: 'opened' });
        }
        return;
      case 'arm':
        recorder.arm(message.phase);
        await tell({ type: 'armed', phaseId: message.phase.id });
        return;
      case 'run': {
        const phase = driver.burst === 'window' ? { ...message.phase, burst: undefined } : message.phase;
        await tell({ type: 'sent', report: await runSendPhase(sender(), phase, phase.window ?? driver.window) });
        if (message.phase.endMarkers === true) {
          endMarkers = new EndMarkers(sender(), message.phase);
        }
        return;
      }
      case 'stop-markers': {
        const markers = endMarkers?.phase.id === message.phaseId ? await endMarkers.stop() : 0;
        await tell({ type: 'markers-stopped', phaseId: message.phaseId, markers });
        return;
      }
      case 'memory': {
        if (message.collect === true) {
          (globalThis as { gc?: () => void }).gc?.();
        }
        const usage = process.memoryUsage();
        await tell({ type: 'memory', rssBytes: usage.rss, heapUsedBytes: usage.heapUsed, peakRssBytes: peakRssBytes(rss.peakBytes) });
        return;
      }
      case 'collect':
        await tell({ type: 'received', report: recorder.report() });
        return;
      case 'close':
        await endMarkers?.stop();
        await producer?.close();
        await consumer?.close();
        rss.stop();
        await tell({ type: 'closed', peakRssBytes: peakRssBytes(rss.peakBytes) });
        // Exit explicitly: a transport's leftover timer must not hold the process (and --cpu-prof
        // writes its profile on exit).
        process.exit(0);
    }
  };

  // Messages are handled one at a time, in order.
  let queue = Promise.resolve();
  process.on('message', (message: ParentMessage) => {
    queue = queue.then(() => handle(message)).catch(fail);
  });
  process.on('disconnect', () => process.exit(1));
  process.on('unhandledRejection', (reason) => void fail(reason));
}

main().catch(fail);
