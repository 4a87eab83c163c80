import { markdownTable } from 'markdown-table';
import { figure } from './figures.js';
import { DASH, lossNote, mib, rate, ratio, sizeLabel, statusCells } from './format.js';
import type { BenchReport } from './bench-report.js';
import { broadcastRowId, NEST_REDIS_BROADCAST_ROW, RAW_PUB_SUB_ROW } from './rows.js';

/** One publisher to 1 and to 3 subscriber processes: messages per second per subscriber, with the ratios issue 12 targets. */
export function broadcastTable(report: BenchReport): string {
  const sizes = report.meta.plan.throughputCounts.map((entry) => entry.payloadBytes);
  const rows = report.rows.filter((row) => row.subscribers !== undefined);
  const header = [
    'Row',
    ...sizes.flatMap((bytes) => [`${sizeLabel(bytes)} msg/s per subscriber`, '× raw PUB/SUB', '× Nest Redis']),
    'publisher peak RSS MiB',
    'subscriber peak RSS MiB',
  ];
  const lines = rows.map((row) => {
    if (row.status !== 'ok') {
      return [row.label, ...statusCells(row, sizes.length * 3 + 2)];
    }
    const against = (transport: string, bytes: number) => figure(report, broadcastRowId(transport, row.subscribers!), bytes, 'windowed');
    return [
      row.label,
      ...sizes.flatMap((bytes) => {
        const entry = row.throughput.find((candidate) => candidate.payloadBytes === bytes);
        return entry === undefined
          ? [DASH, DASH, DASH]
          : [
              rate(entry.msgsPerSec) + lossNote(entry.lost, entry.failed),
              ratio(entry.msgsPerSec, against(RAW_PUB_SUB_ROW, bytes)),
              ratio(entry.msgsPerSec, against(NEST_REDIS_BROADCAST_ROW, bytes)),
            ];
      }),
      mib(row.producerPeakRssBytes),
      mib(row.consumerPeakRssBytes),
    ];
  });
  return markdownTable([header, ...lines], { align: ['l', ...Array<string>(header.length - 1).fill('r')] });
}

/** The broadcast part of the report, if the run had broadcast rows. */
export function broadcastSection(report: BenchReport): string[] {
  if (!report.rows.some((row) => row.subscribers !== undefined)) {
    return [];
  }
  const counts = report.meta.plan.throughputCounts
    .map((entry) => `${entry.broadcastCount.toLocaleString('en-US')} × ${sizeLabel(entry.payloadBytes)}`)
    .join(', ');
  return [
    '',
    `**Broadcast** (one publisher process to 1 or 3 subscriber processes, each of which handles every message; ` +
      `messages handled per second by each subscriber, from the first send to its last handler call, the mean over the subscribers; ` +
      `median of ${report.meta.plan.repeats} run(s) of ${counts}; windowed; ratios against the row of the same transport kind with as many subscribers; ` +
      `\`lost\` sums what the subscribers missed, for example what a PUB socket dropped past its high-water mark):`,
    '',
    broadcastTable(report),
  ];
}
