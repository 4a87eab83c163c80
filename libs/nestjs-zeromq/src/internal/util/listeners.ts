import type { LoggerService } from '@nestjs/common';

type Listener = (...args: never[]) => unknown;

/**
 * The `on(event, listener)` registry of a ZeroMqServer or ZeroMqClient: socket events and the
 * owner's own events (errors, dead letters, rejected clients) alike. A listener that throws is
 * logged, never propagated into the transport.
 */
export class Listeners {
  private readonly listeners = new Map<string, Set<Listener>>();

  constructor(private readonly logger: LoggerService) {}

  on(event: string, listener: Listener): void {
    let set = this.listeners.get(event);
    if (set === undefined) {
      set = new Set();
      this.listeners.set(event, set);
    }
    set.add(listener);
  }

  /** Whether `event` has a listener: a hot path measures only what someone listens to. */
  has(event: string): boolean {
    return (this.listeners.get(event)?.size ?? 0) > 0;
  }

  emit(event: string, ...args: unknown[]): void {
    for (const listener of this.listeners.get(event) ?? []) {
      try {
        (listener as (...values: unknown[]) => unknown)(...args);
      } catch (error) {
        this.logger.error(`A "${event}" listener threw: ${(error as Error)?.stack ?? String(error)}`);
      }
    }
  }
}
