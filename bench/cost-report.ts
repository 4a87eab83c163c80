import { markdownTable } from 'markdown-table';
import type { ResourceUse } from './clock.js';
import { modeResults } from './figures.js';
import { DASH, sizeLabel, statusCells } from './format.js';
import type { ThroughputMode } from './plan.js';
import type { BenchReport } from './report.js';
import type { ThroughputResult } from './runner.js';

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
  const sizes = report.meta.plan.throughputCounts.map((entry) => entry.payloadBytes);
  const header = ['Row', ...sizes.flatMap((bytes) => [`${sizeLabel(bytes)} producer`, `${sizeLabel(bytes)} consumer`])];
  const lines = report.rows
    .filter((row) => row.subscribers === undefined)
    .map((row) => {
      if (row.status !== 'ok') {
        return [row.label, ...statusCells(row, sizes.length * 2)];
      }
      return [
        row.label,
        ...sizes.flatMap((bytes) => {
          const entry = modeResults(row, mode).find((candidate) => candidate.payloadBytes === bytes);
          return entry === undefined
            ? [DASH, DASH]
            : [costCell(entry.producerUse, entry, entry.sent), costCell(entry.consumerUse, entry, entry.received)];
        }),
      ];
    });
  return markdownTable([header, ...lines], { align: ['l', ...Array<string>(header.length - 1).fill('r')] });
}
