import type { LoggerService } from '@nestjs/common';
import { RateLimitedLog } from './rate-limited-log.js';

const timers = import.meta.jest;

function log(interval: number) {
  const lines: string[] = [];
  const logger: LoggerService = {
    log: () => undefined,
    warn: (line: string) => lines.push(`warn ${line}`),
    error: (line: string) => lines.push(`error ${line}`),
  };
  return { lines, limited: new RateLimitedLog(logger, interval) };
}

describe('RateLimitedLog', () => {
  beforeEach(() => timers.useFakeTimers());
  afterEach(() => timers.useRealTimers());

  it('logs the first line of a kind, then at most one per interval with the count held back', () => {
    const { lines, limited } = log(1_000);
    limited.warn('frame', 'bad frame 1');
    limited.warn('frame', 'bad frame 2');
    limited.warn('frame', 'bad frame 3');
    limited.error('read', 'read failed');
    expect(lines).toEqual(['warn bad frame 1', 'error read failed']);
    timers.advanceTimersByTime(999);
    limited.warn('frame', 'bad frame 4');
    expect(lines).toHaveLength(2);
    timers.advanceTimersByTime(1);
    limited.warn('frame', 'bad frame 5');
    expect(lines.at(-1)).toBe('warn bad frame 5 (3 more like this since the last report)');
    timers.advanceTimersByTime(1_000);
    limited.warn('frame', 'bad frame 6');
    expect(lines.at(-1)).toBe('warn bad frame 6');
  });

  it('logs every line with an interval of 0', () => {
    const { lines, limited } = log(0);
    limited.warn('frame', 'one');
    limited.warn('frame', 'two');
    expect(lines).toEqual(['warn one', 'warn two']);
  });
});
