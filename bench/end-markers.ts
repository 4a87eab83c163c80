import { setTimeout as sleep } from 'node:timers/promises';
import { MessageFactory } from './message.js';
import type { PhaseSpec } from './protocol.js';
import type { Sender } from './send-loop.js';

/** Pause between two end markers: often enough to end a phase soon, rarely enough to cost nothing. */
const MARKER_INTERVAL_MS = 10;

/**
 * A broadcast phase's end markers: sent one at a time, every `MARKER_INTERVAL_MS`, from when the
 * phase's messages are sent until `stop()` (every subscriber has reported) or `phase.sendTimeoutMs`.
 */
export class EndMarkers {
  private stopped = false;
  private wake: (() => void) | undefined;
  private sent = 0;
  private readonly loop: Promise<void>;

  constructor(
    sender: Sender,
    readonly phase: PhaseSpec,
  ) {
    this.loop = this.run(sender, new MessageFactory(phase.id, 0));
  }

  /** Stops the markers; resolves with how many were sent once the last send has settled. */
  async stop(): Promise<number> {
    this.stopped = true;
    this.wake?.();
    await this.loop;
    return this.sent;
  }

  private async run(sender: Sender, messages: MessageFactory): Promise<void> {
    const deadline = Date.now() + this.phase.sendTimeoutMs;
    while (!this.stopped && Date.now() < deadline) {
      // A marker that fails (a full queue, say) is simply sent again next time.
      await sender.send(messages.endMarker()).then(
        () => this.sent++,
        () => undefined,
      );
      const pause = new AbortController();
      this.wake = () => pause.abort();
      await sleep(MARKER_INTERVAL_MS, undefined, { signal: pause.signal }).catch(() => undefined);
      this.wake = undefined;
    }
  }
}
