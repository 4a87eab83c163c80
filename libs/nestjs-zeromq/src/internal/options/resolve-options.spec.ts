import type { MsPattern } from '@nestjs/microservices';
import { ZeroMqOptionsError } from '../../zeromq.errors.js';
import type { ZeroMqClientOptions, ZeroMqServerOptions } from '../../zeromq.options.js';
import { socketKind } from '../kinds/kinds.js';
import { resolveClientOptions, resolveServerOptions } from './resolve-options.js';

/** Nest's normalizePattern, as the owners pass it: strings as they are, objects as JSON. */
const normalize = (pattern: MsPattern) => (typeof pattern === 'string' ? pattern : JSON.stringify(pattern));
const server = (options: ZeroMqServerOptions) => resolveServerOptions(options, normalize, socketKind);
const client = (options: ZeroMqClientOptions) => resolveClientOptions(options, normalize, socketKind);

/** The error a resolution throws, checked to be a ZeroMqOptionsError. */
function optionsError(resolve: () => unknown): string {
  try {
    resolve();
  } catch (error) {
    expect(error).toBeInstanceOf(ZeroMqOptionsError);
    expect((error as Error).name).toBe('ZeroMqOptionsError');
    return (error as Error).message;
  }
  throw new Error('no ZeroMqOptionsError was thrown');
}

const A = 'tcp://127.0.0.1:7001';
const B = 'tcp://127.0.0.1:7002';
const C = 'tcp://127.0.0.1:7003';
const TUNING_DEFAULTS = {
  linger: 1_000,
  heartbeat: { interval: 1_000, timeout: 3_000 },
  reconnectInterval: 100,
  reconnectMaxInterval: 5_000,
  logInterval: 5_000,
  curve: undefined,
};

describe('resolveServerOptions', () => {
  it('fills in every default and binds the default socket', () => {
    expect(server({ endpoints: [A] })).toEqual({
      ...TUNING_DEFAULTS,
      sockets: [
        {
          name: 'default',
          kind: 'push-pull',
          endpoints: [{ address: A, bind: true }],
          patterns: [],
          concurrency: 100,
          credit: 500,
          receiveBudget: 64 * 1024 * 1024,
          receiveHighWaterMark: 8,
        },
      ],
      prefetch: 1_000,
      maxMessageSize: 8 * 1024 * 1024,
      maxPatternLength: 1_024,
      maxRecordsPerMessage: 4_096,
      closeTimeout: 10_000,
      dedupeWindow: 100_000,
      plainMessages: undefined,
    });
  });

  it('keeps what is set: tuning, prefetch, per-route concurrency and credit, endpoint bind, plain messages', () => {
    const resolved = server({
      endpoints: [{ address: A, bind: false }],
      kind: 'dealer-router',
      concurrency: 8,
      prefetch: 16,
      heartbeat: false,
      linger: 0,
      plainMessages: { pattern: 'plain' },
      routes: [
        { name: 'audit', patterns: ['audit.*', { cmd: 'audit' }], endpoints: [B], concurrency: 2 },
        { name: 'billing', patterns: ['billing'], endpoints: [C], concurrency: 3, credit: 5 },
      ],
    });
    const budget = { receiveBudget: Math.floor((64 * 1024 * 1024) / 3), receiveHighWaterMark: 2 };
    expect(resolved.sockets).toEqual([
      {
        name: 'default',
        kind: 'dealer-router',
        endpoints: [{ address: A, bind: false }],
        patterns: [],
        concurrency: 8,
        credit: 40,
        ...budget,
      },
      {
        name: 'audit',
        kind: 'dealer-router',
        endpoints: [{ address: B, bind: true }],
        patterns: ['audit.*', '{"cmd":"audit"}'],
        concurrency: 2,
        credit: 10,
        ...budget,
      },
      {
        name: 'billing',
        kind: 'dealer-router',
        endpoints: [{ address: C, bind: true }],
        patterns: ['billing'],
        concurrency: 3,
        credit: 5,
        ...budget,
      },
    ]);
    expect(server({ endpoints: [A], concurrency: 8, credit: 10 }).sockets[0].credit).toBe(10);
    expect([resolved.prefetch, resolved.heartbeat, resolved.linger]).toEqual([16, false, 0]);
    expect(resolved.plainMessages).toEqual({ pattern: 'plain', decoding: 'utf8' });
  });

  it('shares the receive budget among the sockets without their own, and sizes their ZeroMQ queues from it', () => {
    const MiB = 1024 * 1024;
    const budgets = (options: Partial<ZeroMqServerOptions>) =>
      server({ endpoints: [A], ...options }).sockets.map(({ name, receiveBudget, receiveHighWaterMark }) => [
        name,
        receiveBudget,
        receiveHighWaterMark,
      ]);
    const routes = [
      { name: 'big', patterns: ['big'], endpoints: [B], receiveBudget: 100 * MiB },
      { name: 'small', patterns: ['small'], endpoints: [C] },
    ];
    expect(budgets({ receiveBudget: 32 * MiB, maxMessageSize: MiB, routes })).toEqual([
      ['default', 16 * MiB, 16],
      ['big', 100 * MiB, 100],
      ['small', 16 * MiB, 16],
    ]);
    // A budget below maxMessageSize still lets one message wait in ZeroMQ; set high-water marks win; no limit keeps ZeroMQ's 1000.
    expect(budgets({ receiveBudget: MiB })).toEqual([['default', MiB, 1]]);
    expect(budgets({ receiveHighWaterMark: 50 })).toEqual([['default', 64 * MiB, 50]]);
    expect(budgets({ maxMessageSize: -1 })).toEqual([['default', 64 * MiB, 1_000]]);
  });

  it('names an unnamed route after its first pattern', () => {
    const resolved = server({ routes: [{ patterns: [{ cmd: 'sum' }, 'other'], endpoints: [A] }] });
    expect(resolved.sockets.map(({ name, patterns }) => [name, patterns])).toEqual([['{"cmd":"sum"}', ['{"cmd":"sum"}', 'other']]]);
  });

  it('rejects two sockets of one name, a pattern in two routes, and nothing to open', () => {
    expect(optionsError(() => server({ endpoints: [A], routes: [{ name: 'default', patterns: ['x'], endpoints: [B] }] }))).toBe(
      'Invalid ZeroMqServer options: two sockets are named "default"; give each route a unique name',
    );
    expect(
      optionsError(() =>
        server({
          routes: [
            { patterns: ['x'], endpoints: [A] },
            { patterns: ['x', 'y'], endpoints: [B] },
          ],
        }),
      ),
    ).toBe('Invalid ZeroMqServer options: two sockets are named "x"; give each route a unique name');
    expect(
      optionsError(() =>
        server({
          routes: [
            { name: 'one', patterns: [{ cmd: 'a' }], endpoints: [A] },
            { name: 'two', patterns: ['b', { cmd: 'a' }], endpoints: [B] },
          ],
        }),
      ),
    ).toBe('Invalid ZeroMqServer options: pattern "{"cmd":"a"}" is in two routes ("one" and "two"); a pattern can have one route');
    expect(optionsError(() => server({}))).toBe(
      'Invalid ZeroMqServer options: no socket to open; set "endpoints" (for example ["tcp://127.0.0.1:5557"]) or "routes"',
    );
  });

  it('connects a socket to a DNS name with bind: false, and says which socket would bind one', () => {
    const dns = 'tcp+dns://workers.internal:5557';
    expect(server({ endpoints: [{ address: dns, bind: false }] }).sockets[0].endpoints).toEqual([{ address: dns, bind: false }]);
    expect(optionsError(() => server({ endpoints: [A], routes: [{ name: 'audit', patterns: ['audit'], endpoints: [dns] }] }))).toBe(
      `Invalid ZeroMqServer options: socket "audit" would bind ${dns}; a discovery endpoint names peers to connect to: set bind: false`,
    );
  });

  it('says which option is wrong and why', () => {
    expect(optionsError(() => server({ endpoints: ['tcp://0.0.0.0'] }))).toBe(
      'Invalid ZeroMqServer options:\n✖ must be tcp://host:port, ipc://path or inproc://name (or, to connect, tcp+dns://host:port or tcp+srv://_service._tcp.name)\n  → at endpoints[0].address',
    );
    expect(optionsError(() => server({ endpoints: [A], prefetch: 0, bogus: 1 } as ZeroMqServerOptions))).toBe(
      'Invalid ZeroMqServer options:\n✖ Unrecognized key: "bogus"\n✖ Too small: expected number to be >0\n  → at prefetch',
    );
  });
});

describe('resolveClientOptions', () => {
  it('fills in every default and connects the default socket', () => {
    const route = {
      name: 'default',
      kind: 'push-pull',
      endpoints: [{ address: A, bind: false }],
      patterns: [],
      bare: false,
      delivery: 'at-most-once',
    };
    expect(client({ endpoints: [A] })).toEqual({
      ...TUNING_DEFAULTS,
      routes: [route],
      sockets: [{ ...route, route: 'default' }],
      ackTimeout: 30_000,
      maxAttempts: 5,
      retryDelay: 200,
      maxRetryDelay: 10_000,
      keyedPoison: 'block',
      maxQueueSize: 100_000,
      maxQueueBytes: 64 * 1024 * 1024,
      overflow: 'reject',
      sendTimeout: 5_000,
      connectTimeout: 1_000,
      immediate: true,
      maxBatchSize: 256,
      maxBatchBytes: 256 * 1024,
      maxMessageSize: 8 * 1024 * 1024,
      receiveBudget: 64 * 1024 * 1024,
      closeTimeout: 5_000,
      requestTimeout: 30_000,
    });
  });

  it('makes at-least-once routes dealer-router, with one socket per worker endpoint named name#n', () => {
    const resolved = client({
      endpoints: [A],
      routes: [
        { name: 'orders', delivery: 'at-least-once', patterns: ['orders.created'], endpoints: [A, B] },
        { name: 'one', delivery: 'at-least-once', patterns: ['one'], endpoints: [B] },
      ],
    });
    expect(resolved.routes.map(({ name, kind, delivery }) => [name, kind, delivery])).toEqual([
      ['default', 'push-pull', 'at-most-once'],
      ['orders', 'dealer-router', 'at-least-once'],
      ['one', 'dealer-router', 'at-least-once'],
    ]);
    expect(resolved.sockets.map(({ name, route, endpoints }) => [name, route, endpoints.map(({ address }) => address)])).toEqual([
      ['default', 'default', [A]],
      ['orders#1', 'orders', [A]],
      ['orders#2', 'orders', [B]],
      ['one', 'one', [B]],
    ]);
    // The top-level delivery applies to the default socket too.
    expect(client({ delivery: 'at-least-once', endpoints: [A, B] }).sockets.map(({ name, kind }) => [name, kind])).toEqual([
      ['default#1', 'dealer-router'],
      ['default#2', 'dealer-router'],
    ]);
  });

  it('keeps the endpoints of a push-pull route on one socket', () => {
    expect(client({ endpoints: [A, B] }).sockets.map(({ name, endpoints }) => [name, endpoints.length])).toEqual([['default', 2]]);
  });

  it('adds the dead-letter PUSH socket for deadLetterEndpoints', () => {
    const resolved = client({ endpoints: [A], delivery: 'at-least-once', deadLetterEndpoints: [B] });
    expect(resolved.sockets.at(-1)).toEqual({
      name: 'dead-letter',
      kind: 'push-pull',
      endpoints: [{ address: B, bind: false }],
      patterns: [],
      bare: false,
      delivery: 'at-most-once',
      route: '',
    });
    expect(resolved.routes.map(({ name }) => name)).toEqual(['default']);
  });

  it('rejects at-least-once without dealer-router or with bound endpoints, and bare without push-pull', () => {
    expect(optionsError(() => client({ kind: 'push-pull', delivery: 'at-least-once', endpoints: [A] }))).toBe(
      `Invalid ZeroMqClient options: socket "default" is at-least-once, which needs kind 'dealer-router' (acks travel back); it has 'push-pull'`,
    );
    expect(optionsError(() => client({ kind: 'pub-sub', delivery: 'at-least-once', endpoints: [A] }))).toBe(
      `Invalid ZeroMqClient options: socket "default" is at-least-once, which needs kind 'dealer-router' (acks travel back); it has 'pub-sub'`,
    );
    expect(optionsError(() => client({ delivery: 'at-least-once', endpoints: [{ address: A, bind: true }] }))).toBe(
      'Invalid ZeroMqClient options: socket "default" is at-least-once, which needs the client to connect to each worker endpoint (bind: false) so that credits and acks are per worker',
    );
    expect(
      optionsError(() => client({ routes: [{ name: 'raw', bare: true, kind: 'dealer-router', patterns: ['raw'], endpoints: [A] }] })),
    ).toBe(
      `Invalid ZeroMqClient options: socket "raw" is bare, which needs kind 'push-pull' or 'pub-sub' (a plain PULL or SUB peer); it has 'dealer-router'`,
    );
    expect(client({ routes: [{ name: 'raw', bare: true, patterns: ['raw'], endpoints: [A] }] }).sockets[0]).toMatchObject({
      name: 'raw',
      bare: true,
      kind: 'push-pull',
    });
  });

  it('lets an at-most-once socket bind, and refuses at-least-once when any one endpoint binds', () => {
    expect(client({ endpoints: [{ address: A, bind: true }] }).sockets[0].endpoints).toEqual([{ address: A, bind: true }]);
    expect(optionsError(() => client({ delivery: 'at-least-once', endpoints: [B, { address: A, bind: true }] }))).toBe(
      'Invalid ZeroMqClient options: socket "default" is at-least-once, which needs the client to connect to each worker endpoint (bind: false) so that credits and acks are per worker',
    );
  });

  it('gives every socket a unique name, per-endpoint sockets included', () => {
    expect(
      optionsError(() =>
        client({
          routes: [
            { name: 'orders', kind: 'dealer-router', patterns: ['orders'], endpoints: [A, B] },
            { name: 'orders#1', patterns: ['audit'], endpoints: [A] },
          ],
        }),
      ),
    ).toMatch(/two sockets are named "orders#1"/);
  });

  it('keeps the dead-letter socket name for the dead-letter socket', () => {
    expect(
      optionsError(() => client({ routes: [{ name: 'dead-letter', patterns: ['failed'], endpoints: [A] }], deadLetterEndpoints: [B] })),
    ).toMatch(/two sockets are named "dead-letter"/);
  });

  it('refuses nothing to open, naming the client', () => {
    expect(optionsError(() => client({}))).toBe(
      'Invalid ZeroMqClient options: no socket to open; set "endpoints" (for example ["tcp://127.0.0.1:5557"]) or "routes"',
    );
  });

  it('says which option is wrong and why', () => {
    expect(optionsError(() => client({ routes: [{ patterns: [], endpoints: [] }] }))).toBe(
      'Invalid ZeroMqClient options:\n✖ a route needs at least one pattern\n  → at routes[0].patterns\n✖ a route needs at least one endpoint\n  → at routes[0].endpoints',
    );
    expect(optionsError(() => client({ endpoints: [A], maxAttempts: 10_000 }))).toMatch(
      /^Invalid ZeroMqClient options:\n✖ Too big: .*\n {2}→ at maxAttempts$/,
    );
  });
});

describe('resolveClientOptions: outboxes, keys and DNS endpoints', () => {
  const outbox = { path: '/tmp/nzmq-outbox' };
  const stored = { path: outbox.path, durability: 'commit', resolveOn: 'stored', maxBytes: 1024 * 1024 * 1024 };

  it("gives an at-least-once route its own outbox, else the client's; an at-most-once route none", () => {
    const resolved = client({
      outbox,
      routes: [
        { name: 'own', delivery: 'at-least-once', outbox: { path: '/tmp/own', resolveOn: 'acked' }, patterns: ['own'], endpoints: [A] },
        { name: 'shared', delivery: 'at-least-once', patterns: ['shared'], endpoints: [B] },
        { name: 'fast', patterns: ['fast'], endpoints: [C] },
      ],
    });
    expect(resolved.routes.map(({ name, outbox: routeOutbox }) => [name, routeOutbox])).toEqual([
      ['own', { ...stored, path: '/tmp/own', resolveOn: 'acked' }],
      ['shared', stored],
      ['fast', undefined],
    ]);
    // The client's delivery makes its routes at-least-once, and so gives them its outbox.
    expect(client({ delivery: 'at-least-once', outbox, endpoints: [A] }).routes[0].outbox).toEqual(stored);
  });

  it('rejects an outbox that no at-least-once route would use, naming the route', () => {
    const message = (owner: string) =>
      `Invalid ZeroMqClient options: ${owner} has an outbox, which only at-least-once routes use (set delivery: 'at-least-once')`;
    expect(optionsError(() => client({ routes: [{ name: 'fast', outbox, patterns: ['fast'], endpoints: [A] }] }))).toBe(
      message('route "fast"'),
    );
    expect(optionsError(() => client({ routes: [{ outbox, patterns: ['a', 'b'], endpoints: [A] }] }))).toBe(message('route "a, b"'));
    expect(
      optionsError(() =>
        client({ delivery: 'at-least-once', routes: [{ delivery: 'at-most-once', outbox, patterns: ['a'], endpoints: [A] }] }),
      ),
    ).toBe(message('route "a"'));
    expect(optionsError(() => client({ outbox, endpoints: [A] }))).toBe(message('the client'));
    expect(optionsError(() => client({ outbox, routes: [{ patterns: ['a'], endpoints: [A] }] }))).toBe(message('the client'));
  });

  it("gives each route its own key function, else the client's", () => {
    const clientKey = () => 'client';
    const routeKey = () => 'route';
    const resolved = client({
      key: clientKey,
      routes: [
        { name: 'own', key: routeKey, patterns: ['own'], endpoints: [A] },
        { name: 'shared', patterns: ['shared'], endpoints: [B] },
      ],
    });
    expect(resolved.routes.map(({ key }) => key)).toEqual([routeKey, clientKey]);
    expect(client({ endpoints: [A] }).routes[0].key).toBeUndefined();
  });

  it("leaves a per-endpoint route's DNS endpoints to discovery: sockets only for its fixed addresses", () => {
    const dns = 'tcp+dns://workers.internal:5557';
    const resolved = client({
      routes: [
        { name: 'mixed', delivery: 'at-least-once', patterns: ['mixed'], endpoints: [A, dns] },
        { name: 'found', delivery: 'at-least-once', patterns: ['found'], endpoints: [dns] },
      ],
    });
    expect(resolved.routes.map(({ name, endpoints }) => [name, endpoints.map(({ address }) => address)])).toEqual([
      ['mixed', [A, dns]],
      ['found', [dns]],
    ]);
    expect(resolved.sockets.map(({ name, route, endpoints }) => [name, route, endpoints.map(({ address }) => address)])).toEqual([
      ['mixed#1', 'mixed', [A]],
    ]);
  });

  it('refuses a malformed DNS endpoint left to discovery, and a bound one, naming the route or the dead-letter socket', () => {
    const srv = 'tcp+srv://workers.internal';
    expect(
      optionsError(() => client({ routes: [{ name: 'jobs', delivery: 'at-least-once', patterns: ['jobs'], endpoints: [A, srv] }] })),
    ).toBe(
      `Invalid ZeroMqClient options: socket "jobs": Invalid discovery endpoint "${srv}": an SRV name starts with _<service>._tcp. (on Kubernetes: _<port name>._tcp.<service>.<namespace>.svc.<cluster domain>)`,
    );
    const dns = 'tcp+dns://dead-letters.internal:5557';
    expect(optionsError(() => client({ endpoints: [A], deadLetterEndpoints: [{ address: dns, bind: true }] }))).toBe(
      `Invalid ZeroMqClient options: socket "dead-letter" would bind ${dns}; a discovery endpoint names peers to connect to: set bind: false`,
    );
  });
});
