import type { LoggerService } from '@nestjs/common';
import { TestDnsServer } from '../../../test/dns-server.js';
import { Collector } from '../../../test/waiting.js';
import { ZeroMqOptionsError } from '../../zeromq.errors.js';
import { PeerDiscovery } from './peer-discovery.js';
import { EndpointDiscovery } from './endpoint-discovery.js';
import type { EndpointDiscoveryOptions } from '../../discovery/endpoint-discovery.options.js';

const NAME = 'workers.orders.test';
const SRV_NAME = `_zmq._tcp.${NAME}`;
const PORT = 5557;
/** Short waits so that the periodic resolution comes quickly; every wait below is on a callback. */
const FAST = { interval: 50, jitter: 0.2, minRefreshInterval: 0, queryTimeout: 200, queryTries: 1, logInterval: 60_000 } as const;

/** Records the listener's calls as `+address` / `-address`, and the log lines. */
class Recorder {
  readonly changes = new Collector<string>();
  readonly logs: Array<{ level: string; message: string }> = [];
  readonly listener = {
    onAdded: (address: string) => this.changes.add(`+${address}`),
    onRemoved: (address: string) => this.changes.add(`-${address}`),
  };
  readonly logger: LoggerService = {
    log: (message: string) => this.logs.push({ level: 'log', message }),
    warn: (message: string) => this.logs.push({ level: 'warn', message }),
    error: (message: string) => this.logs.push({ level: 'error', message }),
  };

  /** The next `count` changes after those already seen. */
  async next(count: number): Promise<string[]> {
    const seen = this.seen;
    this.seen += count;
    return (await this.changes.waitFor(this.seen, 5_000)).slice(seen, this.seen).sort();
  }

  private seen = 0;
}

describe('EndpointDiscovery against a DNS server on 127.0.0.1', () => {
  let dns: TestDnsServer;
  const discoveries: EndpointDiscovery[] = [];

  const discover = (endpoint: string, recorder: Recorder, options: EndpointDiscoveryOptions = {}) => {
    const discovery = new EndpointDiscovery(endpoint, recorder.listener, {
      servers: [dns.address],
      logger: recorder.logger,
      ...FAST,
      ...options,
    });
    discoveries.push(discovery);
    return discovery;
  };

  beforeEach(async () => {
    dns = await TestDnsServer.start();
  });

  afterEach(async () => {
    discoveries.splice(0).forEach((discovery) => discovery.close());
    await dns.close();
  });

  it('A records: the first resolution adds every address; an added record is added, a removed one removed', async () => {
    dns.setA(NAME, ['127.0.0.2', '127.0.0.3']);
    const recorder = new Recorder();
    const discovery = discover(`tcp+dns://${NAME}:${PORT}`, recorder);

    await discovery.start();
    expect(discovery.addresses).toEqual(['tcp://127.0.0.2:5557', 'tcp://127.0.0.3:5557']);
    expect(await recorder.next(2)).toEqual(['+tcp://127.0.0.2:5557', '+tcp://127.0.0.3:5557']);

    dns.setA(NAME, ['127.0.0.2', '127.0.0.3', '127.0.0.4']);
    expect(await recorder.next(1)).toEqual(['+tcp://127.0.0.4:5557']);

    dns.setA(NAME, ['127.0.0.3', '127.0.0.4']);
    expect(await recorder.next(1)).toEqual(['-tcp://127.0.0.2:5557']);
    expect(discovery.addresses).toEqual(['tcp://127.0.0.3:5557', 'tcp://127.0.0.4:5557']);
    expect(discovery.resolutionFailures).toBe(0);
  });

  it('two names listing the same address make one peer, connected once and removed with the last name', async () => {
    dns.setA(NAME, ['127.0.0.2', '127.0.0.3']);
    dns.setA(`other.${NAME}`, ['127.0.0.3']);
    const recorder = new Recorder();
    const peers = new PeerDiscovery([`tcp+dns://${NAME}:${PORT}`, `tcp+dns://other.${NAME}:${PORT}`], recorder.listener, {
      servers: [dns.address],
      logger: recorder.logger,
      ...FAST,
    });
    try {
      await peers.start();
      expect(await recorder.next(2)).toEqual(['+tcp://127.0.0.2:5557', '+tcp://127.0.0.3:5557']);
      expect(peers.peers).toBe(2);
      // Both names drop 127.0.0.3 (the other one moves to 127.0.0.4): one removal, not two.
      dns.setA(NAME, ['127.0.0.2']);
      dns.setA(`other.${NAME}`, ['127.0.0.4']);
      expect(await recorder.next(2)).toEqual(['+tcp://127.0.0.4:5557', '-tcp://127.0.0.3:5557']);
      // Two more resolutions of each name after that: no second removal came.
      const queries = dns.queries.items.length;
      await dns.queries.waitFor(queries + 4, 5_000);
      expect(recorder.changes.items).toHaveLength(4);
      expect(peers.peers).toBe(2);
    } finally {
      peers.close();
    }
  });

  it('AAAA records come with the A records, IPv6 in brackets', async () => {
    dns.setA(NAME, ['127.0.0.2']);
    dns.setAaaa(NAME, ['::1']);
    const discovery = discover(`tcp+dns://${NAME}:${PORT}`, new Recorder());
    await discovery.start();
    expect(discovery.addresses).toEqual(['tcp://127.0.0.2:5557', 'tcp://[::1]:5557']);
  });

  it('SRV records: each target on its own port; a target that moves port is removed and added', async () => {
    dns.setSrv(SRV_NAME, [
      { target: `w1.${NAME}`, port: 5557 },
      { target: `w2.${NAME}`, port: 5558 },
    ]);
    dns.setA(`w1.${NAME}`, ['127.0.0.2']);
    dns.setA(`w2.${NAME}`, ['127.0.0.3']);
    const recorder = new Recorder();
    const discovery = discover(`tcp+srv://${SRV_NAME}`, recorder);

    await discovery.start();
    expect(await recorder.next(2)).toEqual(['+tcp://127.0.0.2:5557', '+tcp://127.0.0.3:5558']);

    dns.setSrv(SRV_NAME, [
      { target: `w1.${NAME}`, port: 5557 },
      { target: `w2.${NAME}`, port: 5559 },
      { target: `w3.${NAME}`, port: 5557 },
    ]);
    dns.setA(`w3.${NAME}`, ['127.0.0.4']);
    expect(await recorder.next(3)).toEqual(['+tcp://127.0.0.3:5559', '+tcp://127.0.0.4:5557', '-tcp://127.0.0.3:5558']);
    expect(discovery.addresses).toEqual(['tcp://127.0.0.2:5557', 'tcp://127.0.0.3:5559', 'tcp://127.0.0.4:5557']);
  });

  it('SERVFAIL keeps the last set, counts each failure and logs once per logInterval; the next good answer applies', async () => {
    dns.setA(NAME, ['127.0.0.2', '127.0.0.3']);
    const recorder = new Recorder();
    const discovery = discover(`tcp+dns://${NAME}:${PORT}`, recorder);
    await discovery.start();
    await recorder.next(2);

    dns.mode = 'servfail';
    dns.setA(NAME, ['127.0.0.9']);
    await discovery.refresh();
    await discovery.refresh();
    await discovery.refresh();
    // A periodic lookup may have been in flight when the server turned: at least the three asked.
    expect(discovery.resolutionFailures).toBeGreaterThanOrEqual(3);
    expect(discovery.addresses).toEqual(['tcp://127.0.0.2:5557', 'tcp://127.0.0.3:5557']);
    const warnings = recorder.logs.filter((line) => line.level === 'warn');
    expect(warnings).toEqual([
      {
        level: 'warn',
        message: expect.stringMatching(/could not be resolved \(ESERVFAIL\); keeping the last 2 address\(es\); 1 failed resolution/),
      },
    ]);

    dns.mode = 'answer';
    expect(await recorder.next(3)).toEqual(['+tcp://127.0.0.9:5557', '-tcp://127.0.0.2:5557', '-tcp://127.0.0.3:5557']);
    expect(recorder.logs.some((line) => line.message.includes('resolves again, after'))).toBe(true);
    expect(recorder.changes.items).toHaveLength(5);
  });

  it('a DNS server that stops answering: the lookups time out, the last set stays and the failures are counted', async () => {
    dns.setA(NAME, ['127.0.0.2']);
    const recorder = new Recorder();
    const discovery = discover(`tcp+dns://${NAME}:${PORT}`, recorder);
    await discovery.start();

    dns.mode = 'silent';
    await discovery.refresh();
    await discovery.refresh();
    expect(discovery.resolutionFailures).toBeGreaterThanOrEqual(2);
    expect(discovery.addresses).toEqual(['tcp://127.0.0.2:5557']);
    expect(recorder.logs.find((line) => line.level === 'warn')?.message).toContain('(ETIMEOUT)');
    expect(recorder.changes.items).toEqual(['+tcp://127.0.0.2:5557']);
  });

  it('an answer with no address: kept as a failure by default, applied with emptyAnswer "apply"', async () => {
    dns.setA(NAME, ['127.0.0.2']);
    const keeping = new Recorder();
    const applying = new Recorder();
    const keeper = discover(`tcp+dns://${NAME}:${PORT}`, keeping);
    const applier = discover(`tcp+dns://${NAME}:${PORT}`, applying, { emptyAnswer: 'apply' });
    await Promise.all([keeper.start(), applier.start()]);

    dns.remove(NAME); // NXDOMAIN, as for a headless Service with no ready pod
    expect(await applying.next(2)).toEqual(['+tcp://127.0.0.2:5557', '-tcp://127.0.0.2:5557']);
    await keeper.refresh();
    expect(keeper.addresses).toEqual(['tcp://127.0.0.2:5557']);
    expect(keeper.resolutionFailures).toBeGreaterThan(0);
    expect(keeping.logs.find((line) => line.level === 'warn')?.message).toContain('(the name lists no address)');
    expect(applier.resolutionFailures).toBe(0);
  });

  it('refresh() resolves at once however long the interval, and refreshes asked together share one lookup', async () => {
    dns.setA(NAME, ['127.0.0.2']);
    const recorder = new Recorder();
    const discovery = discover(`tcp+dns://${NAME}:${PORT}`, recorder, { interval: 3_600_000 });
    await discovery.start();
    expect(dns.queryCount('A', NAME)).toBe(1);

    dns.setA(NAME, ['127.0.0.2', '127.0.0.3']);
    await Promise.all([discovery.refresh(), discovery.refresh(), discovery.refresh(), discovery.refresh()]);
    expect(discovery.addresses).toEqual(['tcp://127.0.0.2:5557', 'tcp://127.0.0.3:5557']);
    expect(dns.queryCount('A', NAME)).toBe(2);
  });

  it('refresh() asked while a lookup runs gets a lookup of its own after it, minRefreshInterval later', async () => {
    dns.setA(NAME, ['127.0.0.2']);
    dns.mode = 'hold';
    // A long query timeout: the held queries must not time out, however slow the machine.
    const discovery = discover(`tcp+dns://${NAME}:${PORT}`, new Recorder(), {
      interval: 3_600_000,
      minRefreshInterval: 20,
      queryTimeout: 60_000,
    });
    const first = discovery.start();
    await dns.queries.waitFor(2); // A and AAAA asked, not answered
    const second = discovery.refresh();
    dns.release();
    await first;
    expect(discovery.addresses).toEqual(['tcp://127.0.0.2:5557']);
    // The second lookup waits minRefreshInterval (a timer): this change comes before it.
    dns.setA(NAME, ['127.0.0.3']);
    await second;
    expect(dns.queryCount('A', NAME)).toBe(2);
    expect(discovery.addresses).toEqual(['tcp://127.0.0.3:5557']);
  });

  it('close() stops resolving: no callback, no lookup after it, and refresh() resolves at once', async () => {
    dns.setA(NAME, ['127.0.0.2']);
    const recorder = new Recorder();
    const discovery = discover(`tcp+dns://${NAME}:${PORT}`, recorder);
    await discovery.start();
    discovery.close();
    const queries = dns.queries.items.length;

    dns.setA(NAME, ['127.0.0.3']);
    await discovery.refresh();
    discovery.close();
    expect(dns.queries.items.length).toBe(queries);
    expect(recorder.changes.items).toEqual(['+tcp://127.0.0.2:5557']);
  });

  it('close() during a lookup: its answer is dropped and the waiting calls resolve', async () => {
    dns.setA(NAME, ['127.0.0.2']);
    dns.mode = 'hold';
    const recorder = new Recorder();
    const discovery = discover(`tcp+dns://${NAME}:${PORT}`, recorder, { queryTimeout: 60_000 });
    const started = discovery.start();
    await dns.queries.waitFor(2);
    discovery.close();
    await started;
    dns.release();
    expect(discovery.resolutionFailures).toBe(0);
    expect(discovery.addresses).toEqual([]);
    expect(recorder.changes.items).toEqual([]);
  });

  it('a listener that throws is logged, and the other changes are still delivered', async () => {
    dns.setA(NAME, ['127.0.0.2', '127.0.0.3']);
    const recorder = new Recorder();
    const added: string[] = [];
    const listener = {
      onAdded: (address: string) => {
        added.push(address);
        throw new Error('connect failed');
      },
      onRemoved: () => undefined,
    };
    const discovery = new EndpointDiscovery(`tcp+dns://${NAME}:${PORT}`, listener, {
      servers: [dns.address],
      logger: recorder.logger,
      ...FAST,
    });
    discoveries.push(discovery);
    await discovery.start();
    expect(added).toEqual(['tcp://127.0.0.2:5557', 'tcp://127.0.0.3:5557']);
    expect(recorder.logs.filter((line) => line.level === 'error').map((line) => line.message)).toEqual([
      expect.stringContaining('onAdded(tcp://127.0.0.2:5557) threw: connect failed'),
    ]);
  });

  it('refuses bad options and endpoints with a ZeroMqOptionsError', () => {
    const listener = new Recorder().listener;
    expect(() => new EndpointDiscovery(`tcp+dns://${NAME}:${PORT}`, listener, { jitter: 0.9 })).toThrow(ZeroMqOptionsError);
    expect(() => new EndpointDiscovery(`tcp+dns://${NAME}:${PORT}`, listener, { interval: 0 })).toThrow('interval');
    expect(() => new EndpointDiscovery(`tcp+dns://${NAME}:${PORT}`, listener, { servers: ['not an address'] })).toThrow(
      'Invalid discovery servers',
    );
    expect(() => new EndpointDiscovery('tcp://127.0.0.1:5557', listener)).toThrow('Invalid discovery endpoint');
  });
});
