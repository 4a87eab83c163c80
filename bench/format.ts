import type { RowResult } from './runner.js';

/** Cell formatting shared by the report's tables. */
export const DASH = '—';

export function sizeLabel(bytes: number): string {
  if (bytes >= 1024 && bytes % 1024 === 0) {
    return `${bytes / 1024} KiB`;
  }
  return `~${bytes} B`;
}

export function rate(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

export function ratio(value: number | undefined, baseline: number | undefined): string {
  return value === undefined || baseline === undefined || baseline <= 0 ? DASH : `${(value / baseline).toFixed(2)}×`;
}

export function mib(bytes: number | undefined): string {
  return bytes === undefined ? DASH : (bytes / 1024 / 1024).toFixed(0);
}

export function lossNote(lost: number, failed: number): string {
  const parts = [
    lost > 0 ? `lost ${lost.toLocaleString('en-US')}` : '',
    failed > 0 ? `${failed.toLocaleString('en-US')} sends failed` : '',
  ];
  const text = parts.filter(Boolean).join(', ');
  return text === '' ? '' : ` (${text})`;
}

/** A row with no numbers shows why in its first cell. */
export function statusCells(row: RowResult, width: number): string[] {
  const note = row.status === 'failed' ? `failed: ${(row.note ?? '').split('\n')[0]}` : (row.note ?? row.status);
  return [note, ...Array<string>(width - 1).fill(DASH)];
}
