import type { LoggerService } from '@nestjs/common';
import { Listeners } from './listeners.js';

describe('Listeners', () => {
  it('calls the listeners of an event in the order added, once each, with its arguments', () => {
    const listeners = new Listeners({ log: () => undefined, error: () => undefined, warn: () => undefined });
    const calls: string[] = [];
    const first = (a: string, b: number) => calls.push(`first ${a} ${b}`);
    listeners.on('error', first);
    listeners.on('error', first);
    listeners.on('error', (a: string) => calls.push(`second ${a}`));
    listeners.on('other', () => calls.push('other'));
    listeners.emit('error', 'x', 1);
    listeners.emit('nobody-listens', 'y');
    expect(calls).toEqual(['first x 1', 'second x']);
  });

  it('logs a listener that throws and still calls the others', () => {
    const errors: string[] = [];
    const logger: LoggerService = { log: () => undefined, warn: () => undefined, error: (line: string) => errors.push(line) };
    const listeners = new Listeners(logger);
    const calls: string[] = [];
    listeners.on('dead-letter', () => {
      throw new Error('listener bug');
    });
    listeners.on('dead-letter', () => calls.push('after'));
    expect(() => listeners.emit('dead-letter')).not.toThrow();
    expect(calls).toEqual(['after']);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^A "dead-letter" listener threw: Error: listener bug\n/);
  });
});
