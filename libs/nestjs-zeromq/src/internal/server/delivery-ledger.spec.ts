import { DeliveryLedger } from './delivery-ledger.js';

const A = Buffer.from('peer-a');
const B = Buffer.from('peer-b');

describe('DeliveryLedger', () => {
  it('runs a new delivery, ignores a copy that arrives while it runs, and acks again once it completed', () => {
    const ledger = new DeliveryLedger(10);
    expect(ledger.admit('p.1', A)).toBe('run');
    expect(ledger.admit('p.1', A)).toBe('ignore');
    expect(ledger.admit('p.2', A)).toBe('run');
    ledger.finish('p.1', true);
    expect(ledger.admit('p.1', A)).toBe('ack-again');
    expect(ledger.admit('p.1', A)).toBe('ack-again');
    expect(ledger.admit('p.2', A)).toBe('ignore');
  });

  it('answers every peer that sent an id while it ran, each once, and forgets them when the run ends', () => {
    const ledger = new DeliveryLedger(10);
    expect(ledger.admit('p.1', A)).toBe('run');
    // A redelivery over a new connection, the same one again, and a copy from the first peer.
    expect(ledger.admit('p.1', Buffer.from('peer-b'))).toBe('ignore');
    expect(ledger.admit('p.1', B)).toBe('ignore');
    expect(ledger.admit('p.1', Buffer.from('peer-a'))).toBe('ignore');
    expect(ledger.finish('p.1', false)).toEqual([A, B]);
    expect(ledger.admit('p.1', B)).toBe('run');
    expect(ledger.finish('p.1', true)).toEqual([B]);
    expect(ledger.finish('p.2', true)).toEqual([]);
  });

  it('runs a delivery again after a failed run (the producer retries it)', () => {
    const ledger = new DeliveryLedger(10);
    expect(ledger.admit('p.1', A)).toBe('run');
    ledger.finish('p.1', false);
    expect(ledger.admit('p.1', A)).toBe('run');
    ledger.finish('p.1', true);
    expect(ledger.admit('p.1', A)).toBe('ack-again');
  });

  it('remembers the last `window` completed ids only', () => {
    const ledger = new DeliveryLedger(2);
    for (const id of ['p.1', 'p.2', 'p.3']) {
      expect(ledger.admit(id, A)).toBe('run');
      ledger.finish(id, true);
    }
    expect(ledger.admit('p.2', A)).toBe('ack-again');
    expect(ledger.admit('p.3', A)).toBe('ack-again');
    expect(ledger.admit('p.1', A)).toBe('run');
  });

  it('acks again, without running, an id its durable store has although memory does not', () => {
    const ledger = new DeliveryLedger(2, { has: (id) => id === 'on-disk', record: () => Promise.resolve() });
    expect(ledger.admit('on-disk', A)).toBe('ack-again');
    expect(ledger.admit('new', A)).toBe('run');
  });
});
