import { MAX_PENDING_AUTHORIZATIONS } from '../../constants.js';
import type { ZeroMqUnauthorizedClient } from '../../zeromq.events.js';
import type { ZeroMqClientAuthorizer } from '../../zeromq.curve.options.js';
import type { ResolvedServerCurve } from './curve.js';
import { settlesWithin } from '../util/deadline.js';
import type { Listeners } from '../util/listeners.js';
import type { RateLimitedLog } from '../util/rate-limited-log.js';
import { registerZapDomain, type ZapRequest, type ZapVerdict } from './zap-handler.js';

const ALLOWED: ZapVerdict = { allowed: true, reason: 'OK' };
const rejected = (reason: string): ZapVerdict => ({ allowed: false, reason });

/**
 * A CURVE server's allow-list (`curve.allowClients` of a ZeroMqServer, `curve.allowSubscribers` of
 * a publishing ZeroMqClient, the proxy's `allowPublishers`), answered through the process's ZAP
 * handler under the socket owner's own ZAP domain. A rejected client is reported to `onRejected`
 * (count, log, event).
 */
export class ClientAuthorization {
  /** Callbacks that have not settled yet, timed out ones included: a stuck callback holds its slot. */
  private pending = 0;
  private unregister: (() => void) | undefined;

  private constructor(
    private readonly domain: string,
    private readonly allowClients: ReadonlySet<string> | ZeroMqClientAuthorizer,
    private readonly timeout: number,
    private readonly option: string,
    private readonly onRejected: (client: ZeroMqUnauthorizedClient) => void,
  ) {}

  /** The policy of a CURVE server role with an allow-list; undefined otherwise. */
  static of(
    curve: ResolvedServerCurve | undefined,
    onRejected: (client: ZeroMqUnauthorizedClient) => void,
  ): ClientAuthorization | undefined {
    if (curve?.zapDomain === undefined || curve.allowClients === undefined) {
      return undefined;
    }
    return new ClientAuthorization(curve.zapDomain, curve.allowClients, curve.authTimeout, curve.allowOption, onRejected);
  }

  /**
   * The allow-list of a ZeroMqServer's or ZeroMqClient's CURVE server role, if it has one: each
   * rejection is counted (`rejections`), logged and reported to the owner's `unauthorized` listeners.
   */
  static reporting(
    curve: ResolvedServerCurve | undefined,
    problems: RateLimitedLog,
    listeners: Listeners,
    peer: string,
  ): ClientAuthorization | undefined {
    return ClientAuthorization.of(curve, (client) => {
      problems.warn('unauthorized', `Rejected CURVE ${peer} ${client.publicKey} from ${client.address}: ${client.reason}`);
      listeners.emit('unauthorized', client);
    });
  }

  /** Peers rejected so far. */
  rejections = 0;

  /** Starts answering for this server; call before its sockets open. */
  async start(): Promise<void> {
    this.unregister ??= await registerZapDomain(this.domain, (request) => this.decide(request));
  }

  /** Stops answering; clients of this server's domain are rejected from now on. */
  stop(): void {
    this.unregister?.();
    this.unregister = undefined;
  }

  private async decide(request: ZapRequest): Promise<ZapVerdict> {
    const verdict = await this.judge(request);
    if (!verdict.allowed) {
      this.rejections++;
      this.onRejected({ publicKey: request.publicKey ?? '', address: request.address, reason: verdict.reason });
    }
    return verdict;
  }

  private async judge({ publicKey, address, mechanism }: ZapRequest): Promise<ZapVerdict> {
    if (publicKey === undefined) {
      return rejected(`mechanism ${mechanism} is not CURVE`);
    }
    const allow = this.allowClients;
    if (typeof allow !== 'function') {
      return allow.has(publicKey) ? ALLOWED : rejected(`its public key is not in ${this.option}`);
    }
    if (this.pending >= MAX_PENDING_AUTHORIZATIONS) {
      return rejected(`${MAX_PENDING_AUTHORIZATIONS} ${this.option} callbacks are still pending`);
    }
    this.pending++;
    const decision = Promise.resolve().then(() => allow({ publicKey, address }));
    decision.finally(() => this.pending--).catch(() => undefined);
    if (!(await settlesWithin(decision, this.timeout))) {
      return rejected(`the ${this.option} callback did not answer within ${this.timeout} ms (authTimeout)`);
    }
    try {
      // Only a real `true` admits: a truthy string or object from a sloppy callback does not.
      return (await decision) === true ? ALLOWED : rejected(`refused by the ${this.option} callback`);
    } catch (error) {
      return rejected(`the ${this.option} callback threw: ${(error as Error)?.message ?? String(error)}`);
    }
  }
}
