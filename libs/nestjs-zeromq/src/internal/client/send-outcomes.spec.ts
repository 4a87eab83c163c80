import type { LoggerService } from '@nestjs/common';
import { Counters } from '../util/counters.js';
import { Listeners } from '../util/listeners.js';
import { RateLimitedLog } from '../util/rate-limited-log.js';
import { SEND_COUNTERS, SendOutcomes } from './send-outcomes.js';

function outcomes() {
  const logged: string[] = [];
  const logger = { log: () => undefined, warn: () => undefined, error: (line: string) => logged.push(line) } as unknown as LoggerService;
  const listeners = new Listeners(logger);
  const errors: unknown[] = [];
  listeners.on('error', (error: unknown) => errors.push(error));
  const counters = new Counters(SEND_COUNTERS);
  return { outcomes: new SendOutcomes(counters, new RateLimitedLog(logger, 0), listeners), counters, logged, errors };
}

function recorder() {
  const told: string[] = [];
  return { told, done: { resolve: () => told.push('resolved'), reject: (error: Error) => told.push(`rejected: ${error.message}`) } };
}

describe('SendOutcomes.trackedEmit', () => {
  it('counts an acked emit as sent and tells its emit, once: a failure after the ack changes nothing', () => {
    const { outcomes: sut, counters, errors } = outcomes();
    const { told, done } = recorder();
    const tracked = sut.trackedEmit(done);
    tracked.resolve();
    tracked.reject(new Error('NOT_STORED: m1'));
    tracked.resolve();
    expect(told).toEqual(['resolved']);
    expect(counters.snapshot()).toMatchObject({ sent: 1, failed: 0 });
    expect(errors).toEqual([]);
  });

  it('counts, logs and emits a failed emit and tells it the error, once', () => {
    const { outcomes: sut, counters, logged, errors } = outcomes();
    const { told, done } = recorder();
    const tracked = sut.trackedEmit(done);
    const error = new Error('DEAD_LETTER: m1');
    tracked.reject(error);
    tracked.resolve();
    tracked.reject(new Error('CLOSED: m1'));
    expect(told).toEqual(['rejected: DEAD_LETTER: m1']);
    expect(counters.snapshot()).toMatchObject({ sent: 0, failed: 1 });
    expect(errors).toEqual([error]);
    expect(logged.join('\n')).toContain('DEAD_LETTER: m1');
  });
});
