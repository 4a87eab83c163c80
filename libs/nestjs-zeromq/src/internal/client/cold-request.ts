import { Observable, type Subscriber } from 'rxjs';

/**
 * The Observable `send()` returns: cold, one request per subscription, started at once when the
 * client is connected and after `connect()` otherwise (a connect failure errors the subscriber);
 * unsubscribing cancels the request, even one still waiting for the connection. It replaces the
 * `defer(connect)` / `mergeMap` pair Nest's ClientProxy builds around every request.
 */
export function coldRequest<T>(
  isReady: () => boolean,
  connect: () => Promise<void>,
  start: (subscriber: Subscriber<T>) => () => void,
): Observable<T> {
  return new Observable<T>((subscriber) => {
    if (isReady()) {
      return start(subscriber);
    }
    let cancel: (() => void) | undefined;
    let unsubscribed = false;
    connect().then(
      () => {
        if (!unsubscribed) {
          cancel = start(subscriber);
        }
      },
      (error: unknown) => subscriber.error(error),
    );
    return () => {
      unsubscribed = true;
      cancel?.();
    };
  });
}
