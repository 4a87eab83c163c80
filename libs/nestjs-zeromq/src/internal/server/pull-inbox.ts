import { Inbox } from './inbox.js';

/**
 * A PULL socket (`'push-pull'`): framed events, and with `plainMessages` single frames from plain
 * ZeroMQ peers. Nothing goes back to the producers.
 */
export class PullInbox extends Inbox {
  protected override readonly routingFrames = 0;
}
