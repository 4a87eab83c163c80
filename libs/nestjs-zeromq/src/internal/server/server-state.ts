/**
 * What an inbox must know of its server on every record it handles, kept current by the server
 * whenever it changes (close, a processing hook set, a 'handler-end' listener added, also after
 * listen()): the inboxes read it here rather than asking the server each time.
 */
export class ServerState {
  /** True once `close()` was called: nothing new starts. */
  closing = false;
  /** Whether something listens to 'handler-end': only then are handlers timed. */
  timed = false;
  /** Whether a processing start or end hook was set without a gate: then handlers always run inside the hooks. */
  private ungatedHooks = false;
  /** Gates of the processing hooks installed through addProcessingHooks({ active }). */
  private readonly hookGates: Array<() => boolean> = [];

  /** Whether handlers run inside Nest's processing hooks; if not, they are called directly. */
  get hooked(): boolean {
    return this.ungatedHooks || (this.hookGates.length > 0 && this.hookGates.some((active) => active()));
  }

  /** A processing hook was set: with `active`, it matters only while `active()` is true; without, always. */
  hookSet(active?: () => boolean): void {
    if (active === undefined) {
      this.ungatedHooks = true;
    } else {
      this.hookGates.push(active);
    }
  }
}
