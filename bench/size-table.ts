import { markdownTable } from 'markdown-table';
import { modeResults } from './figures.js';
import { DASH, sizeLabel, statusCells } from './format.js';
import type { ThroughputMode } from './plan.js';
import type { BenchReport } from './bench-report.js';
import type { RowResult, ThroughputResult } from './runner.js';

/** The rows of the main tables: all but the broadcast rows. */
export function pointToPoint(report: BenchReport): RowResult[] {
  return report.rows.filter((row) => row.subscribers === undefined);
}

/**
 * A table of the point-to-point rows in one mode with a group of columns per payload size:
 * `columns` names a size's columns (given its label), `cells` fills them from a row's result there.
 */
export function sizeTable(
  report: BenchReport,
  mode: ThroughputMode,
  columns: (size: string) => string[],
  cells: (entry: ThroughputResult, bytes: number) => string[],
): string {
  const sizes = report.meta.plan.throughputCounts.map((entry) => entry.payloadBytes);
  const width = columns('').length;
  const header = ['Row', ...sizes.flatMap((bytes) => columns(sizeLabel(bytes)))];
  const lines = pointToPoint(report).map((row) => {
    if (row.status !== 'ok') {
      return [row.label, ...statusCells(row, sizes.length * width)];
    }
    return [
      row.label,
      ...sizes.flatMap((bytes) => {
        const entry = modeResults(row, mode).find((candidate) => candidate.payloadBytes === bytes);
        return entry === undefined ? Array<string>(width).fill(DASH) : cells(entry, bytes);
      }),
    ];
  });
  return markdownTable([header, ...lines], { align: ['l', ...Array<string>(header.length - 1).fill('r')] });
}
