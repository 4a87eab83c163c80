import type { MessageHandler } from '@nestjs/microservices';
import { isObservable, lastValueFrom, type Observable } from 'rxjs';
import type { ZeroMqContext } from '../../zeromq.context.js';
import type { InboxHost } from './inbox-host.js';

/** How a handler run ended: Nest's exception filter turns a failure into an error value. */
export type HandlerOutcome = { ok: true } | { ok: false; error: unknown };

const SUCCEEDED: HandlerOutcome = { ok: true };

/**
 * Calls the handler and waits for its outcome (promise or observable). With processing hooks
 * set it runs inside them; without, directly: no promise or closure that nobody observes. Timed
 * (`handler-end`) only while something listens. A failure was already reported by Nest's
 * exception filter; the outcome carries the error.
 */
export async function runHandler(host: InboxHost, handler: MessageHandler, data: unknown, context: ZeroMqContext): Promise<HandlerOutcome> {
  if (!host.state.timed) {
    return callHandler(host, handler, data, context);
  }
  const started = performance.now();
  const outcome = await callHandler(host, handler, data, context);
  host.emit('handler-end', context, performance.now() - started, outcome.ok ? 'success' : 'error');
  return outcome;
}

async function callHandler(host: InboxHost, handler: MessageHandler, data: unknown, context: ZeroMqContext): Promise<HandlerOutcome> {
  if (!host.state.hooked) {
    try {
      await settle(handler(data, context));
      return SUCCEEDED;
    } catch (error) {
      host.emit('handler-error', error, context);
      return { ok: false, error };
    }
  }
  return new Promise<HandlerOutcome>((resolve) => {
    const hooked = host.runWithProcessingHooks(context, async (runEndHook) => {
      let outcome = SUCCEEDED;
      try {
        await settle(handler(data, context));
      } catch (error) {
        outcome = { ok: false, error };
        host.emit('handler-error', error, context);
      } finally {
        runEndHook();
        resolve(outcome);
      }
    });
    if (hooked instanceof Promise) {
      hooked.catch((error: unknown) => {
        host.problems.error('hook', `A processing hook failed: ${describeError(error)}`);
        resolve({ ok: false, error });
      });
    }
  });
}

/** Waits for a handler's result: a promise, an observable (its last value), or a plain value. */
async function settle(result: unknown): Promise<void> {
  const value = result instanceof Promise ? await result : result;
  if (isObservable(value)) {
    await lastValueFrom(value as Observable<unknown>, { defaultValue: undefined });
  }
}

/** A handler's error as one line: Nest's RPC error objects carry a `message`. */
export function describeError(error: unknown): string {
  if (typeof error === 'string') {
    return error;
  }
  const message = (error as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? message : (JSON.stringify(error) ?? String(error));
}
