import { DeliveryLedger } from './delivery-ledger.js';

describe('DeliveryLedger', () => {
  it('runs a new delivery, ignores a copy that arrives while it runs, and acks again once it completed', () => {
    const ledger = new DeliveryLedger(10);
    expect(ledger.admit('p.1')).toBe('run');
    expect(ledger.admit('p.1')).toBe('ignore');
    expect(ledger.admit('p.2')).toBe('run');
    ledger.finish('p.1', true);
    expect(ledger.admit('p.1')).toBe('ack-again');
    expect(ledger.admit('p.1')).toBe('ack-again');
    expect(ledger.admit('p.2')).toBe('ignore');
  });

  it('runs a delivery again after a failed run (the producer retries it)', () => {
    const ledger = new DeliveryLedger(10);
    expect(ledger.admit('p.1')).toBe('run');
    ledger.finish('p.1', false);
    expect(ledger.admit('p.1')).toBe('run');
    ledger.finish('p.1', true);
    expect(ledger.admit('p.1')).toBe('ack-again');
  });

  it('remembers the last `window` completed ids only', () => {
    const ledger = new DeliveryLedger(2);
    for (const id of ['p.1', 'p.2', 'p.3']) {
      expect(ledger.admit(id)).toBe('run');
      ledger.finish(id, true);
    }
    expect(ledger.admit('p.2')).toBe('ack-again');
    expect(ledger.admit('p.3')).toBe('ack-again');
    expect(ledger.admit('p.1')).toBe('run');
  });

  it('acks again, without running, an id its durable store has although memory does not', () => {
    const ledger = new DeliveryLedger(2, { has: (id) => id === 'on-disk', record: () => Promise.resolve() });
    expect(ledger.admit('on-disk')).toBe('ack-again');
    expect(ledger.admit('new')).toBe('run');
  });
});
