import { Controller, Inject, Injectable } from '@nestjs/common';
import { Ctx, EventPattern, MessagePattern, Payload } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import { ZeroMqContext } from '../zeromq.context.js';
import { ZeroMqStatus } from '../zeromq.events.js';
import { createZeroMqTestingPair, type ZeroMqTestingPair } from './zeromq-testing-pair.js';

@Injectable()
class Ledger {
  readonly entries: Array<{ amount: number; socket: string }> = [];
  private waiting: Array<() => void> = [];

  record(amount: number, socket: string): void {
    this.entries.push({ amount, socket });
    this.waiting.splice(0).forEach((wake) => wake());
  }

  /** Resolves once an entry arrives (the test's timeout bounds the wait). */
  next(): Promise<void> {
    return new Promise((resolve) => this.waiting.push(resolve));
  }
}

@Controller()
class LedgerController {
  constructor(@Inject(Ledger) private readonly ledger: Ledger) {}

  @EventPattern<string>('ledger.credit')
  credit(@Payload() amount: number, @Ctx() context: ZeroMqContext): void {
    this.ledger.record(amount, context.getSocketName());
  }

  @MessagePattern('ledger.balance')
  balance(): number {
    return this.ledger.entries.reduce((sum, entry) => sum + entry.amount, 0);
  }
}

describe('createZeroMqTestingPair', () => {
  let pair: ZeroMqTestingPair | undefined;
  afterEach(async () => {
    await pair?.close();
    pair = undefined;
  });

  it.each(['inproc', 'tcp'] as const)('runs the handlers of a module over %s: emit, then send', async (transport) => {
    const ledger = new Ledger();
    pair = await createZeroMqTestingPair({
      transport,
      module: { controllers: [LedgerController], providers: [{ provide: Ledger, useValue: ledger }] },
    });
    expect(pair.address).toMatch(transport === 'tcp' ? /^tcp:\/\/127\.0\.0\.1:\d+$/ : /^inproc:\/\//);
    const credited = ledger.next();
    await pair.emit('ledger.credit', 5);
    await credited;
    expect(ledger.entries).toEqual([{ amount: 5, socket: 'default' }]);
    expect(await pair.send<number>('ledger.balance', {})).toBe(5);
  });

  it('takes a compiled TestingModule, with its overridden providers', async () => {
    const fake = new Ledger();
    fake.record(40, 'seeded');
    const moduleRef = await Test.createTestingModule({ controllers: [LedgerController], providers: [Ledger] })
      .overrideProvider(Ledger)
      .useValue(fake)
      .compile();
    pair = await createZeroMqTestingPair({ module: moduleRef, client: { requestTimeout: 5_000 } });
    await pair.emit('ledger.credit', 2);
    expect(await pair.send<number>('ledger.balance', {})).toBe(42);
  });

  it('closes both ends', async () => {
    const created = await createZeroMqTestingPair({ module: { controllers: [LedgerController], providers: [Ledger] } });
    const statuses: string[] = [];
    created.client.status.subscribe((status) => statuses.push(status));
    await created.close();
    expect(statuses.at(-1)).toBe(ZeroMqStatus.CLOSED);
    expect(created.client.getMetrics().connections).toEqual({});
    expect(() => created.server.unwrap()).toThrow('Not initialized');
  });
});
