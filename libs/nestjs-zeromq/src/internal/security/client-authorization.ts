import { MAX_PENDING_AUTHORIZATIONS } from '../../constants.js';
import type { ZeroMqUnauthorizedClient } from '../../zeromq.events.js';
import type { ZeroMqClientAuthorizer } from '../../zeromq.options.js';
import type { ResolvedCurve } from './curve.js';
import { settlesWithin } from '../util/deadline.js';
import { registerZapDomain, type ZapRequest, type ZapVerdict } from './zap-handler.js';

const ALLOWED: ZapVerdict = { allowed: true, reason: 'OK' };
const rejected = (reason: string): ZapVerdict => ({ allowed: false, reason });

/**
 * A CURVE server's `allowClients` policy, answered through the process's ZAP handler under the
 * server's own ZAP domain. A rejected client is reported to `onRejected` (count, log, event).
 */
export class ClientAuthorization {
  /** Callbacks that have not settled yet, timed out ones included: a stuck callback holds its slot. */
  private pending = 0;
  private unregister: (() => void) | undefined;

  private constructor(
    private readonly domain: string,
    private readonly allowClients: ReadonlySet<string> | ZeroMqClientAuthorizer,
    private readonly timeout: number,
    private readonly onRejected: (client: ZeroMqUnauthorizedClient) => void,
  ) {}

  /** The policy of a server whose options set `curve.allowClients`; undefined otherwise. */
  static of(curve: ResolvedCurve | undefined, onRejected: (client: ZeroMqUnauthorizedClient) => void): ClientAuthorization | undefined {
    if (curve?.role !== 'server' || curve.zapDomain === undefined || curve.allowClients === undefined) {
      return undefined;
    }
    return new ClientAuthorization(curve.zapDomain, curve.allowClients, curve.authTimeout, onRejected);
  }

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
      return allow.has(publicKey) ? ALLOWED : rejected('its public key is not in curve.allowClients');
    }
    if (this.pending >= MAX_PENDING_AUTHORIZATIONS) {
      return rejected(`${MAX_PENDING_AUTHORIZATIONS} curve.allowClients callbacks are still pending`);
    }
    this.pending++;
    const decision = Promise.resolve().then(() => allow({ publicKey, address }));
    decision.finally(() => this.pending--).catch(() => undefined);
    if (!(await settlesWithin(decision, this.timeout))) {
      return rejected(`the curve.allowClients callback did not answer within ${this.timeout} ms (authTimeout)`);
    }
    try {
      // Only a real `true` admits: a truthy string or object from a sloppy callback does not.
      return (await decision) === true ? ALLOWED : rejected('refused by the curve.allowClients callback');
    } catch (error) {
      return rejected(`the curve.allowClients callback threw: ${(error as Error)?.message ?? String(error)}`);
    }
  }
}
