import { Logger } from '@nestjs/common';
import * as zmq from 'zeromq';
import { ZAP_DOMAIN_PREFIX, ZAP_ENDPOINT } from '../../constants.js';
import { bindRetrying } from '../util/bind-retrying.js';
import { z85Encode } from './z85.js';

/** One ZAP request, as a server's policy sees it. */
export interface ZapRequest {
  domain: string;
  /** The peer's IP address. */
  address: string;
  /** `'NULL'`, `'PLAIN'` or `'CURVE'`. */
  mechanism: string;
  /** The client's public key (Z85) for CURVE; undefined otherwise. */
  publicKey: string | undefined;
}

export interface ZapVerdict {
  allowed: boolean;
  /** Why a client was rejected (kept on this side: libzmq only tells the client the status code). */
  reason: string;
}

export type ZapPolicy = (request: ZapRequest) => Promise<ZapVerdict>;

const ZAP_VERSION = '1.0';
const CURVE_KEY_BYTES = 32;
/** Frames of a ZAP request on a ROUTER: routing id, empty delimiter, then RFC 27's seven frames. */
const REQUEST_FRAMES = 8;

/**
 * The ZAP handler (ZeroMQ RFC 27) of this process. libzmq asks one handler per context, at
 * `inproc://zeromq.zap.01`, to admit each connection to a socket that has a ZAP domain; several
 * ZeroMqServers may live in one process, so each registers a policy under its own domain and this
 * handler dispatches by domain. The ROUTER is bound with the first registration and closed with
 * the last, so a process without CURVE servers keeps no socket open.
 */
class ZapHandler {
  private readonly policies = new Map<string, ZapPolicy>();
  private readonly logger = new Logger('ZeroMqZap');
  private readonly foreignDomains = new Set<string>();
  private router: zmq.Router | undefined;
  private ready: Promise<void> | undefined;
  /** zeromq.js allows one pending send per socket: answers go out one after the other. */
  private answers: Promise<void> = Promise.resolve();

  async register(domain: string, policy: ZapPolicy): Promise<() => void> {
    if (this.policies.has(domain)) {
      throw new Error(`ZAP domain "${domain}" is already registered`);
    }
    this.policies.set(domain, policy);
    try {
      await (this.ready ??= this.open());
    } catch (error) {
      this.unregister(domain);
      throw error;
    }
    return () => this.unregister(domain);
  }

  private unregister(domain: string): void {
    this.policies.delete(domain);
    if (this.policies.size === 0) {
      const router = this.router;
      this.router = undefined;
      this.ready = undefined;
      router?.close();
    }
  }

  private async open(): Promise<void> {
    const router = new zmq.Router({ linger: 0 });
    this.router = router;
    try {
      // A handler closed a moment ago (the last server stopped) frees the name asynchronously.
      await bindRetrying(router, ZAP_ENDPOINT);
    } catch (error) {
      router.close();
      throw new Error(
        `Cannot start CURVE client authentication: ${ZAP_ENDPOINT} is taken (${(error as Error).message}); only one ZAP handler may run per ZeroMQ context`,
        { cause: error },
      );
    }
    void this.serve(router);
  }

  private async serve(router: zmq.Router): Promise<void> {
    try {
      for await (const frames of router) {
        this.handle(router, frames);
      }
    } catch {
      // The loop ends when the last policy is unregistered and the router closes.
    }
  }

  private handle(router: zmq.Router, frames: Buffer[]): void {
    // libzmq is the only peer of this inproc endpoint; anything else is not a request to answer.
    if (frames.length < REQUEST_FRAMES) {
      return;
    }
    const [routingId, delimiter, version, requestId, domainFrame, addressFrame, , mechanismFrame, ...credentials] = frames;
    const answer = (status: '200' | '400' | '500', text: string, userId = '') =>
      this.send(router, [routingId, delimiter, ZAP_VERSION, requestId, status, text, userId, '']);
    if (version.toString('latin1') !== ZAP_VERSION) {
      answer('500', 'unsupported ZAP version');
      return;
    }
    const domain = domainFrame.toString('utf8');
    const policy = this.policies.get(domain);
    if (policy === undefined) {
      if (domain.startsWith(ZAP_DOMAIN_PREFIX)) {
        // A server of this library that has closed: nobody vouches for its clients.
        answer('400', 'server closed');
      } else {
        this.admitForeign(domain);
        answer('200', 'OK');
      }
      return;
    }
    const mechanism = mechanismFrame.toString('latin1');
    const key = credentials[0];
    const request: ZapRequest = {
      domain,
      address: addressFrame.toString('utf8'),
      mechanism,
      publicKey: mechanism === 'CURVE' && key?.length === CURVE_KEY_BYTES ? z85Encode(key) : undefined,
    };
    policy(request).then(
      (verdict) => (verdict.allowed ? answer('200', 'OK', request.publicKey) : answer('400', verdict.reason)),
      (error: unknown) => {
        this.logger.error(`Client authentication failed: ${(error as Error)?.message ?? String(error)}`);
        answer('500', 'authentication failed');
      },
    );
  }

  /**
   * A socket this library did not make asks for authentication (a ZAP domain of its own, or CURVE
   * without one): admit it, as libzmq does when no ZAP handler runs, and say so once.
   */
  private admitForeign(domain: string): void {
    if (!this.foreignDomains.has(domain)) {
      this.foreignDomains.add(domain);
      this.logger.warn(
        `A socket not made by nestjs-zeromq asked for ZAP authentication (domain "${domain}"); it is admitted as without a ZAP handler`,
      );
    }
  }

  private send(router: zmq.Router, frames: Array<Buffer | string>): void {
    // A ROUTER drops answers to requesters that are gone; a closed router rejects: nothing to do.
    this.answers = this.answers.then(() => router.send(frames)).catch(() => undefined);
  }
}

const handler = new ZapHandler();

/**
 * Starts answering ZAP requests for `domain` with `policy` (binding the process's ZAP handler if
 * it is not running); resolves with the function that stops it.
 */
export function registerZapDomain(domain: string, policy: ZapPolicy): Promise<() => void> {
  return handler.register(domain, policy);
}
