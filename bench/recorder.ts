import { measureResourceUse, nowUs, type ResourceUse } from './clock.js';
import { LatencyHistogram } from './latency-histogram.js';
import { END_MARKER_SEQUENCE, type BenchMessage } from './message.js';
import type { PhaseSpec, ReceiveReport } from './protocol.js';

/**
 * Counts what the consumer's handler receives during one phase, and for paced phases records
 * emit-to-handler latency. Reports once the phase's count has arrived, or at the phase's first end
 * marker (broadcast rows, which may lose messages); end markers are not counted.
 */
export class Recorder {
  private phase: PhaseSpec | undefined;
  private received = 0;
  private reported = false;
  private stray = 0;
  private lastReceiveUs = 0;
  private histogram: LatencyHistogram | undefined;
  private used: () => ResourceUse = measureResourceUse();

  constructor(private readonly onComplete: (report: ReceiveReport) => void) {}

  arm(phase: PhaseSpec): void {
    this.histogram?.destroy();
    this.phase = phase;
    this.received = 0;
    this.reported = false;
    this.stray = 0;
    this.lastReceiveUs = 0;
    this.histogram = phase.kind === 'latency' ? new LatencyHistogram() : undefined;
    this.used = measureResourceUse();
  }

  /** The handler's sink. */
  readonly record = (message: BenchMessage): void => {
    const now = nowUs();
    const phase = this.phase;
    if (message.s === END_MARKER_SEQUENCE) {
      if (phase !== undefined && message.p === phase.id) {
        this.complete();
      }
      return;
    }
    if (phase === undefined || message.p !== phase.id) {
      this.stray++;
      return;
    }
    this.received++;
    this.lastReceiveUs = now;
    this.histogram?.record(now - message.t);
    if (this.received === phase.count) {
      this.complete();
    }
  };

  private complete(): void {
    if (!this.reported) {
      this.reported = true;
      this.onComplete(this.report());
    }
  }

  report(): ReceiveReport {
    return {
      phaseId: this.phase?.id ?? -1,
      received: this.received,
      stray: this.stray,
      lastReceiveUs: this.lastReceiveUs,
      latency: this.histogram?.summary(),
      use: this.used(),
    };
  }
}
