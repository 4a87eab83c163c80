import type { MessageHandler } from '@nestjs/microservices';
import { isObservable, lastValueFrom, type Observable } from 'rxjs';
import type { ZeroMqContext } from '../../zeromq.context.js';
import type { InboxHost } from './inbox-host.js';

/** How a handler run ended: Nest's exception filter turns a failure into an error value. */
export type HandlerOutcome = { ok: true } | { ok: false; error: unknown };

const SUCCEEDED: HandlerOutcome = { ok: true };

/**
 * Calls the handler and waits for its outcome (promise or observable). With processing hooks
 * set it runs inside them; without, directly: one promise chain on the handler's own promise,
 * no async function per layer (each costs a promise, its state and a turn of the microtask
 * queue, per message). Timed (`handler-end`) only while something listens. A failure was
 * already reported by Nest's exception filter; the outcome carries the error.
 */
export function runHandler(host: InboxHost, handler: MessageHandler, data: unknown, context: ZeroMqContext): Promise<HandlerOutcome> {
  const call = host.state.hooked ? callHooked : callHandler;
  if (!host.state.timed) {
    return call(host, handler, data, context);
  }
  const started = performance.now();
  return call(host, handler, data, context).then((outcome) => {
    host.emit('handler-end', context, performance.now() - started, outcome.ok ? 'success' : 'error');
    return outcome;
  });
}

function callHandler(host: InboxHost, handler: MessageHandler, data: unknown, context: ZeroMqContext): Promise<HandlerOutcome> {
  let result: unknown;
  try {
    result = handler(data, context);
  } catch (error) {
    return Promise.resolve(failed(host, error, context));
  }
  const fail = (error: unknown) => failed(host, error, context);
  if (result instanceof Promise) {
    return result.then((value: unknown) => (isObservable(value) ? observed(value, fail) : SUCCEEDED), fail);
  }
  return isObservable(result) ? observed(result, fail) : Promise.resolve(SUCCEEDED);
}

/** The outcome of a handler that returned an Observable: once it completes (its last value) or errors. */
function observed(value: Observable<unknown>, fail: (error: unknown) => HandlerOutcome): Promise<HandlerOutcome> {
  return lastValueFrom(value, { defaultValue: undefined }).then(() => SUCCEEDED, fail);
}

function failed(host: InboxHost, error: unknown, context: ZeroMqContext): HandlerOutcome {
  host.emit('handler-error', error, context);
  return { ok: false, error };
}

function callHooked(host: InboxHost, handler: MessageHandler, data: unknown, context: ZeroMqContext): Promise<HandlerOutcome> {
  return new Promise<HandlerOutcome>((resolve) => {
    const hooked = host.runWithProcessingHooks(context, async (runEndHook) => {
      try {
        resolve(await callHandler(host, handler, data, context));
      } finally {
        runEndHook();
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

/** A handler's error as one line: Nest's RPC error objects carry a `message`. */
export function describeError(error: unknown): string {
  if (typeof error === 'string') {
    return error;
  }
  const message = (error as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? message : (JSON.stringify(error) ?? String(error));
}
