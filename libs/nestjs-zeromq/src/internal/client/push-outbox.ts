import { Outbox, type OutboxHost } from './outbox.js';

/**
 * A PUSH socket (`'push-pull'`): events only, which ZeroMQ round-robins over the connected
 * workers. It only writes: its peers never answer.
 */
export class PushOutbox extends Outbox {
  protected override readFrom(_host: OutboxHost): undefined {
    return undefined;
  }
}
