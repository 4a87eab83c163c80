import type { ResourceUse } from './clock.js';
import { DASH } from './format.js';
import type { ThroughputMode } from './plan.js';
import type { BenchReport } from './bench-report.js';
import type { ThroughputResult } from './runner.js';
import { sizeTable } from './size-table.js';

/**
 * One process's cost of a phase: CPU µs per message, its share of the phase's wall time (how busy
 * the process was: the rest is waiting, a stall when neither side is at 100%), and minor page
 * faults per message (first touches of fresh memory).
 */
function costCell(use: ResourceUse | undefined, entry: ThroughputResult, messages: number): string {
  if (use === undefined || messages === 0) {
    return DASH;
  }
  const busy = use.cpuUs / (entry.seconds * 1e6);
  return `${(use.cpuUs / messages).toFixed(1)} µs, ${Math.round(busy * 100)}%, ${(use.minorFaults / messages).toFixed(2)}`;
}

/**
 * Where each point-to-point row spends its time in one mode: the producer's and the consumer's CPU
 * per message, how busy each was, and their page faults per message (the median run of each size).
 */
export function costTable(report: BenchReport, mode: ThroughputMode): string {
  return sizeTable(
    report,
    mode,
    (size) => [`${size} producer`, `${size} consumer`],
    (entry) => [costCell(entry.producerUse, entry, entry.sent), costCell(entry.consumerUse, entry, entry.received)],
  );
}
