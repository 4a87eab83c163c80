import { Logger } from '@nestjs/common';
import * as zmq from 'zeromq';
import { z } from 'zod';
import { ZeroMqOptionsError } from '../zeromq.errors.js';
import type { ZeroMqUnauthorizedClient } from '../zeromq.events.js';
import { defaultReceiveHighWaterMark, SERVER_DEFAULTS, TUNING_DEFAULTS } from '../internal/options/defaults.js';
import { ClientAuthorization } from '../internal/security/client-authorization.js';
import {
  clientCurveSchema,
  clientRole,
  curveSocketOptions,
  requireCurveSupport,
  serverCurveSchema,
  serverRole,
  type ResolvedCurve,
  type ResolvedServerCurve,
} from '../internal/security/curve.js';
import { bindRetrying } from '../internal/util/bind-retrying.js';
import type { ZeroMqBroadcastProxyOptions } from './zeromq-broadcast-proxy.options.js';

const ADDRESS = /^(tcp:\/\/[^\s/]+:(\d+|\*)|ipc:\/\/\S+|inproc:\/\/\S+)$/;
const addresses = z
  .array(z.string().regex(ADDRESS, 'must be tcp://host:port, ipc://path or inproc://name'))
  .min(1, 'needs at least one address');

const optionsSchema = z.strictObject({
  frontend: addresses,
  backend: addresses,
  curve: z
    .strictObject({
      secretKey: z.unknown(),
      allowPublishers: z.unknown().optional(),
      subscriberPublicKey: z.unknown().optional(),
      allowSubscribers: z.unknown().optional(),
    })
    .refine(
      (curve) => (curve.subscriberPublicKey === undefined) !== (curve.allowSubscribers === undefined),
      'needs exactly one of subscriberPublicKey (the subscribers are CURVE servers) and allowSubscribers (the backend is the CURVE server)',
    )
    .optional(),
  maxMessageSize: z.number().int().min(-1).default(SERVER_DEFAULTS.maxMessageSize),
  connectionBudget: z.number().int().positive().default(SERVER_DEFAULTS.receiveBudget),
  // Derived from connectionBudget and maxMessageSize when not set.
  highWaterMark: z.number().int().nonnegative().optional(),
  linger: z.number().int().nonnegative().default(TUNING_DEFAULTS.linger),
});

function parse<T extends z.ZodType>(schema: T, value: unknown, what: string): z.output<T> {
  const result = schema.safeParse(value);
  if (!result.success) {
    throw new ZeroMqOptionsError(`Invalid ZeroMqBroadcastProxy ${what}:\n${z.prettifyError(result.error)}`);
  }
  return result.data;
}

/**
 * An XSUB/XPUB forwarder for many-to-many broadcast without lists of endpoints: publishers
 * connect to the frontend, subscribers to the backend. Forwarding runs in libzmq (zeromq.js
 * `Proxy`, on a worker thread): messages one way, subscriptions the other, every subscriber's
 * subscription passed on so that publishers can count subscribers through it. Also run from the
 * command line: `nestjs-zeromq proxy --frontend ... --backend ...`.
 *
 * ```ts
 * const proxy = new ZeroMqBroadcastProxy({ frontend: ['tcp://0.0.0.0:5560'], backend: ['tcp://0.0.0.0:5561'] });
 * await proxy.start();
 * ```
 * @publicApi
 */
export class ZeroMqBroadcastProxy {
  private readonly logger = new Logger(ZeroMqBroadcastProxy.name);
  private readonly config: z.output<typeof optionsSchema>;
  private readonly frontendCurve: ResolvedServerCurve | undefined;
  private readonly backendCurve: ResolvedCurve | undefined;
  /** `allowPublishers` on the frontend, `allowSubscribers` on the backend, when set. */
  private readonly publisherAuthorization: ClientAuthorization | undefined;
  private readonly subscriberAuthorization: ClientAuthorization | undefined;
  private readonly bound: { frontend: string[]; backend: string[] } = { frontend: [], backend: [] };
  private proxy: zmq.Proxy<zmq.XSubscriber, zmq.XPublisher> | undefined;
  private running: Promise<void> | undefined;

  constructor(options: ZeroMqBroadcastProxyOptions) {
    this.config = parse(optionsSchema, options, 'options');
    const curve = this.config.curve;
    if (curve !== undefined) {
      requireCurveSupport('ZeroMqBroadcastProxy');
      const front = parse(
        serverCurveSchema,
        { secretKey: curve.secretKey, allowClients: curve.allowPublishers },
        'curve options (secretKey, allowPublishers)',
      );
      this.frontendCurve = serverRole(front.secretKey, front.allowClients, 'curve.allowPublishers', undefined);
      const back = parse(
        clientCurveSchema,
        { secretKey: curve.secretKey, serverPublicKey: curve.subscriberPublicKey, allowSubscribers: curve.allowSubscribers },
        'curve options (subscriberPublicKey, allowSubscribers)',
      );
      this.backendCurve =
        back.serverPublicKey === undefined
          ? serverRole(back.secretKey, back.allowSubscribers, 'curve.allowSubscribers', undefined)
          : clientRole(back.secretKey, back.serverPublicKey);
    }
    const rejected = (side: 'publisher' | 'subscriber') => (peer: ZeroMqUnauthorizedClient) =>
      this.logger.warn(`Rejected CURVE ${side} ${peer.publicKey} from ${peer.address}: ${peer.reason}`);
    this.publisherAuthorization = ClientAuthorization.of(this.frontendCurve, rejected('publisher'));
    this.subscriberAuthorization = ClientAuthorization.of(
      this.backendCurve?.role === 'server' ? this.backendCurve : undefined,
      rejected('subscriber'),
    );
  }

  /** Publishers turned away by `curve.allowPublishers`. */
  get rejectedPublishers(): number {
    return this.publisherAuthorization?.rejections ?? 0;
  }

  /** Subscribers turned away by `curve.allowSubscribers`. */
  get rejectedSubscribers(): number {
    return this.subscriberAuthorization?.rejections ?? 0;
  }

  /** Actual addresses: a bound `tcp://127.0.0.1:*` shows its OS-chosen port. */
  getAddresses(): { frontend: string[]; backend: string[] } {
    return { frontend: [...this.bound.frontend], backend: [...this.bound.backend] };
  }

  /** Binds both sides and starts forwarding; resolves once it forwards. */
  async start(): Promise<void> {
    if (this.proxy !== undefined) {
      return;
    }
    const { linger, maxMessageSize, connectionBudget } = this.config;
    const highWaterMark = this.config.highWaterMark ?? defaultReceiveHighWaterMark(connectionBudget, maxMessageSize);
    await this.publisherAuthorization?.start();
    await this.subscriberAuthorization?.start();
    const frontend = new zmq.XSubscriber({
      linger,
      maxMessageSize,
      receiveHighWaterMark: highWaterMark,
      ...curveSocketOptions(this.frontendCurve),
    });
    // Every subscriber's (un)subscription goes upstream, not only a topic's first and last.
    const backend = new zmq.XPublisher({
      linger,
      sendHighWaterMark: highWaterMark,
      verbosity: 'allSubsUnsubs',
      ...curveSocketOptions(this.backendCurve),
    });
    try {
      await this.bindAll(frontend, this.config.frontend, this.bound.frontend);
      await this.bindAll(backend, this.config.backend, this.bound.backend);
    } catch (error) {
      frontend.close();
      backend.close();
      this.stopAuthorizing();
      throw error;
    }
    this.proxy = new zmq.Proxy(frontend, backend);
    this.running = this.proxy.run().catch((error: unknown) => this.logger.error(`The proxy stopped: ${(error as Error).message}`));
  }

  /** Stops forwarding and closes both sockets. */
  async close(): Promise<void> {
    const proxy = this.proxy;
    this.proxy = undefined;
    if (proxy !== undefined) {
      proxy.terminate();
      await this.running;
    }
    this.stopAuthorizing();
    this.bound.frontend = [];
    this.bound.backend = [];
  }

  private stopAuthorizing(): void {
    this.publisherAuthorization?.stop();
    this.subscriberAuthorization?.stop();
  }

  private async bindAll(socket: zmq.Socket, addresses: string[], bound: string[]): Promise<void> {
    for (const address of addresses) {
      try {
        await bindRetrying(socket, address);
      } catch (error) {
        throw new Error(`Cannot bind the proxy to ${address}: ${(error as Error).message}`, { cause: error });
      }
      bound.push(socket.lastEndpoint ?? address);
    }
  }
}
