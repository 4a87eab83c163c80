import { Observable, type Subscriber, type TeardownLogic } from 'rxjs';
import type { Settle } from '../sockets/send-queue.js';

const PENDING = 0;
const SENT = 1;
const FAILED = 2;

/**
 * What `ZeroMqClient.emit()` returns: one object per emit instead of the deferred, connectable
 * observable and Subject that Nest's `ClientProxy.emit()` builds. Same contract: hot (the message
 * is on its way whether or not anyone subscribes), a subscriber present when it is sent gets
 * `next(undefined)` and `complete`, a later one only `complete`; a failure reaches every
 * subscriber, early or late, and is dropped silently when there is none (the client also logs,
 * counts and emits it as an `error` event).
 */
export class EmitResult extends Observable<undefined> implements Settle {
  private state = PENDING;
  private error: Error | undefined;
  private waiting: Array<Subscriber<undefined>> | undefined;

  constructor() {
    super((subscriber) => this.attach(subscriber));
  }

  resolve(): void {
    this.settle(SENT, undefined);
  }

  reject(error: Error): void {
    this.settle(FAILED, error);
  }

  private attach(subscriber: Subscriber<undefined>): TeardownLogic {
    if (this.state === SENT) {
      subscriber.complete();
      return undefined;
    }
    if (this.state === FAILED) {
      subscriber.error(this.error);
      return undefined;
    }
    (this.waiting ??= []).push(subscriber);
    return () => {
      const index = this.waiting?.indexOf(subscriber) ?? -1;
      if (index >= 0) {
        this.waiting!.splice(index, 1);
      }
    };
  }

  private settle(state: typeof SENT | typeof FAILED, error: Error | undefined): void {
    if (this.state !== PENDING) {
      return;
    }
    this.state = state;
    this.error = error;
    const waiting = this.waiting;
    this.waiting = undefined;
    for (const subscriber of waiting ?? []) {
      if (state === SENT) {
        subscriber.next(undefined);
        subscriber.complete();
      } else {
        subscriber.error(error);
      }
    }
  }
}
