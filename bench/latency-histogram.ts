import * as hdr from 'hdr-histogram-js';
import type { LatencySummary } from './protocol.js';

/** Longest latency the histogram tracks, µs; longer ones are clamped (and show as the max). */
const MAX_TRACKED_LATENCY_US = 60_000_000;

/** Durations in µs, summarized as percentiles (HDR histogram, 3 significant digits). */
export class LatencyHistogram {
  private readonly histogram = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: MAX_TRACKED_LATENCY_US,
    numberOfSignificantValueDigits: 3,
  });

  /** Records `us` (`count` times: messages that took as long). */
  record(us: number, count = 1): void {
    this.histogram.recordValueWithCount(Math.min(MAX_TRACKED_LATENCY_US, Math.max(1, Math.round(us))), count);
  }

  summary(): LatencySummary {
    const histogram = this.histogram;
    return {
      count: histogram.totalCount,
      p50: histogram.getValueAtPercentile(50),
      p99: histogram.getValueAtPercentile(99),
      p999: histogram.getValueAtPercentile(99.9),
      max: histogram.maxValue,
      mean: histogram.mean,
    };
  }

  destroy(): void {
    this.histogram.destroy();
  }
}
