import type { ThroughputMode } from './plan.js';
import type { BenchReport } from './bench-report.js';
import { NODE_LIMIT_ROWS } from './rows.js';
import type { RowResult, ThroughputResult } from './runner.js';

/** A row's results in one throughput mode. */
export function modeResults(row: RowResult, mode: ThroughputMode): ThroughputResult[] {
  return mode === 'windowed' ? row.throughput : row.burst;
}

/** A row's figure at a payload size in a mode, if it has one. */
export function figure(report: BenchReport, id: string, bytes: number, mode: ThroughputMode): number | undefined {
  const row = report.rows.find((candidate) => candidate.id === id && candidate.status === 'ok');
  return row === undefined ? undefined : modeResults(row, mode).find((entry) => entry.payloadBytes === bytes)?.msgsPerSec;
}

/**
 * The Node limit at a payload size in a mode: the better of the raw rows (`NODE_LIMIT_ROWS`) in
 * that mode, and which row that was.
 */
export function nodeLimit(report: BenchReport, bytes: number, mode: ThroughputMode): { msgsPerSec: number; row: RowResult } | undefined {
  let best: { msgsPerSec: number; row: RowResult } | undefined;
  for (const row of report.rows.filter((candidate) => candidate.id in NODE_LIMIT_ROWS)) {
    const msgsPerSec = figure(report, row.id, bytes, mode);
    if (msgsPerSec !== undefined && msgsPerSec > (best?.msgsPerSec ?? 0)) {
      best = { msgsPerSec, row };
    }
  }
  return best;
}
