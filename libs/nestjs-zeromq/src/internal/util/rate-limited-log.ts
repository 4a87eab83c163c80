import type { LoggerService } from '@nestjs/common';

interface Window {
  loggedAt: number;
  suppressed: number;
}

/**
 * Logs the first problem of a kind, then at most one line per `interval` ms for that kind, with a
 * count of the lines it held back. A peer flooding bad frames cannot flood the log. Kinds are a
 * fixed set chosen by the caller (never peer data), so the map stays small.
 */
export class RateLimitedLog {
  private readonly windows = new Map<string, Window>();

  constructor(
    private readonly logger: LoggerService,
    private readonly interval: number,
  ) {}

  warn(kind: string, message: string): void {
    const line = this.admit(kind, message);
    if (line !== undefined) {
      this.logger.warn(line);
    }
  }

  error(kind: string, message: string): void {
    const line = this.admit(kind, message);
    if (line !== undefined) {
      this.logger.error(line);
    }
  }

  private admit(kind: string, message: string): string | undefined {
    const now = Date.now();
    const window = this.windows.get(kind);
    if (window !== undefined && now - window.loggedAt < this.interval) {
      window.suppressed++;
      return undefined;
    }
    const suppressed = window?.suppressed ?? 0;
    this.windows.set(kind, { loggedAt: now, suppressed: 0 });
    return suppressed > 0 ? `${message} (${suppressed} more like this since the last report)` : message;
  }
}
