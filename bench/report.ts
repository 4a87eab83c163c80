import { markdownTable } from 'markdown-table';
import { BURST_MAX_BYTES, BURST_MAX_SENDS, type ThroughputMode } from './plan.js';
import { broadcastSection } from './broadcast-report.js';
import { costTable } from './cost-report.js';
import { pointToPoint, sizeTable } from './size-table.js';
import { figure, nodeLimit } from './figures.js';
import { DASH, lossNote, rate, ratio, mib, sizeLabel, statusCells } from './format.js';
import { DISPATCH_CEILING_ROW, NEST_TCP_ROW, NODE_LIMIT_ROWS, RAW_BASELINE_ROW } from './rows.js';
import type { LatencySummary } from './protocol.js';
import type { LatencyResult, RowResult } from './runner.js';
import type { BenchReport, RunMeta } from './bench-report.js';

function ms(microseconds: number): string {
  return (microseconds / 1000).toFixed(microseconds < 10_000 ? 2 : 0);
}

/** Says which raw row was the Node limit at each payload size. */
export function nodeLimitNote(report: BenchReport, mode: ThroughputMode): string {
  const sizes = report.meta.plan.throughputCounts.map((entry) => entry.payloadBytes);
  const parts = sizes.map((bytes) => {
    const limit = nodeLimit(report, bytes, mode);
    return limit === undefined ? `${sizeLabel(bytes)}: not measured` : `${sizeLabel(bytes)} ${NODE_LIMIT_ROWS[limit.row.id]}`;
  });
  return `× Node limit: against the better of the two raw zeromq.js rows (batched or single sends) at each size; here ${parts.join(', ')}.`;
}

export function throughputTable(report: BenchReport, mode: ThroughputMode): string {
  return sizeTable(
    report,
    mode,
    (size) => [`${size} msg/s`, '× raw', '× Node limit', '× Nest TCP'],
    (entry, bytes) => [
      rate(entry.msgsPerSec) + lossNote(entry.lost, entry.failed),
      ratio(entry.msgsPerSec, figure(report, RAW_BASELINE_ROW, bytes, mode)),
      ratio(entry.msgsPerSec, nodeLimit(report, bytes, mode)?.msgsPerSec),
      ratio(entry.msgsPerSec, figure(report, NEST_TCP_ROW, bytes, mode)),
    ],
  );
}

/** One cell per offered rate: p50 / p99 / p999 in ms of the summary `pick` takes from that rate's phase. */
function pacedCells(row: RowResult, rates: number[], pick: (entry: LatencyResult) => LatencySummary | undefined): string[] {
  return rates.map((offered) => {
    const entry = row.latency.find((candidate) => candidate.rate === offered)!;
    const summary = pick(entry);
    if (summary === undefined) {
      return DASH;
    }
    return `${ms(summary.p50)} / ${ms(summary.p99)} / ${ms(summary.p999)}${lossNote(entry.lost, entry.failed)}`;
  });
}

function pacedHeaders(rates: number[]): string[] {
  return rates.map((offered) => `p50 / p99 / p999 ms @ ${offered.toLocaleString('en-US')} msg/s`);
}

export function latencyMemoryTable(report: BenchReport): string {
  const rates = report.meta.plan.latencyRates.map((entry) => entry.rate);
  const header = ['Row', ...pacedHeaders(rates), 'producer peak RSS MiB', 'consumer peak RSS MiB'];
  const lines = pointToPoint(report).map((row) => {
    if (row.status !== 'ok') {
      return [row.label, ...statusCells(row, rates.length + 2)];
    }
    return [row.label, ...pacedCells(row, rates, (entry) => entry.latency), mib(row.producerPeakRssBytes), mib(row.consumerPeakRssBytes)];
  });
  return markdownTable([header, ...lines], { align: ['l', ...Array<string>(header.length - 1).fill('r')] });
}

/** The worst of a figure over every row's paced phases, and where it was. */
function worstPaced(report: BenchReport, pick: (entry: LatencyResult) => number | undefined): { value: number; where: string } | undefined {
  let worst: { value: number; where: string } | undefined;
  for (const row of pointToPoint(report).filter((candidate) => candidate.status === 'ok')) {
    for (const entry of row.latency) {
      const value = pick(entry);
      if (value !== undefined && value > (worst?.value ?? -1)) {
        worst = { value, where: `${row.label} at ${entry.rate.toLocaleString('en-US')} msg/s` };
      }
    }
  }
  return worst;
}

/**
 * Whether the paced phases ran as meant: the most cores busy elsewhere during one (the machine's
 * CPU less the row's processes'), and the producers' worst send lag (p99) against their schedule.
 */
export function pacedConditions(report: BenchReport): string {
  const elsewhere = worstPaced(report, (entry) => entry.busyElsewhereCores);
  const lag = worstPaced(report, (entry) => entry.lag?.p99);
  const parts = [
    elsewhere === undefined
      ? undefined
      : `at most ${elsewhere.value.toFixed(2)} cores busy elsewhere during a paced phase (${elsewhere.where})`,
    lag === undefined ? undefined : `producers' send lag p99 at most ${ms(lag.value)} ms (${lag.where})`,
  ].filter((part) => part !== undefined);
  return parts.length === 0
    ? ''
    : `Conditions of the paced phases: ${parts.join('; ')}. On a quiet machine the first is near 0 and the second about 1 ms (the timer's tick).`;
}

/** The producer's view of the paced phases: call to settled promise (a request's round trip). */
export function completionTable(report: BenchReport): string {
  const rates = report.meta.plan.latencyRates.map((entry) => entry.rate);
  const header = ['Row', ...pacedHeaders(rates)];
  const lines = pointToPoint(report).map((row) =>
    row.status === 'ok'
      ? [row.label, ...pacedCells(row, rates, (entry) => entry.completion)]
      : [row.label, ...statusCells(row, rates.length)],
  );
  return markdownTable([header, ...lines], { align: ['l', ...Array<string>(header.length - 1).fill('r')] });
}

export function machineLine(meta: RunMeta): string {
  const { machine, versions, load } = meta;
  const versionText = Object.entries(versions)
    .map(([name, version]) => `${name} ${version}`)
    .join(', ');
  return (
    `${meta.date}, ${meta.mode} run${meta.plan.scale === undefined ? '' : ` scaled ×${meta.plan.scale}`}${meta.plan.partial === undefined ? '' : ` (${meta.plan.partial})`} (${Math.round(meta.durationSeconds)} s): ${machine.cpu}, ${machine.cores} cores, ` +
    `${machine.memoryGiB} GiB, ${machine.os}; ${versionText}; load average before ${load.before.map((value) => value.toFixed(2)).join(' ')}, ` +
    `after ${load.after.map((value) => value.toFixed(2)).join(' ')}`
  );
}

function burstSection(report: BenchReport): string[] {
  const counts = report.meta.plan.throughputCounts
    .map((entry) => `${entry.burstCount.toLocaleString('en-US')} × ${sizeLabel(entry.payloadBytes)}`)
    .join(', ');
  return [
    '',
    `**Throughput, burst** (median of ${report.meta.plan.repeats} run(s) of ${counts}, sent in bursts: up to ${BURST_MAX_SENDS.toLocaleString('en-US')} emits and ` +
      `${BURST_MAX_BYTES / 1024 / 1024} MiB fired in a loop without awaiting, then all awaited; the single-send raw row ` +
      `awaits every send, as zeromq.js allows one pending send per socket, and the ceiling dispatches 100 at a time, as a server would):`,
    '',
    throughputTable(report, 'burst'),
    '',
    nodeLimitNote(report, 'burst'),
  ];
}

/** The whole result as markdown: what the bench prints and what docs/performance.md embeds. */
export function markdownReport(report: BenchReport, chartPath?: string): string {
  const plan = report.meta.plan;
  const counts = plan.throughputCounts
    .map((entry) => `${entry.count.toLocaleString('en-US')} × ${sizeLabel(entry.payloadBytes)}`)
    .join(', ');
  const paced = plan.latencyRates.map((entry) => `${entry.rate.toLocaleString('en-US')} msg/s for ${entry.seconds} s`).join(', ');
  const parts = [`Measured ${machineLine(report.meta)}.`];
  if (pointToPoint(report).length > 0) {
    parts.push(
      '',
      `**Throughput, windowed** (messages handled per second, producer and consumer in separate processes over tcp loopback; ` +
        `median of ${plan.repeats} run(s) of ${counts}; each row keeps its window of sends outstanding: 1000 emits, ` +
        `100 handler calls for the ceiling, 1 for the single-send raw row):`,
      '',
      throughputTable(report, 'windowed'),
      '',
      nodeLimitNote(report, 'windowed'),
      ...(plan.throughputModes.includes('burst') ? burstSection(report) : []),
      '',
      `**Cost per message, windowed** (the median runs above; each cell: CPU time per message of that process, all its threads; ` +
        `its CPU time as a share of the phase's wall time, so 100% is one core busy throughout and less is time spent waiting; ` +
        `minor page faults per message, first touches of fresh memory. The dispatch ceiling runs in one process: consumer only):`,
      '',
      costTable(report, 'windowed'),
      '',
      `**Latency and memory** (emit-to-handler latency of ${sizeLabel(plan.latencyPayloadBytes)} messages at fixed offered rates: ${paced}; ` +
        `peak RSS of each process over all of the row's sessions):`,
      '',
      latencyMemoryTable(report),
      '',
      pacedConditions(report),
      '',
      `**Call to completion** (the producer's view of the same paced phases: from the call until its promise settled. ` +
        `For \`send()\` rows that is the request's round trip, for at-least-once the ack's, for other emits until the transport took the message):`,
      '',
      completionTable(report),
    );
  }
  parts.push(...broadcastSection(report));
  if (chartPath !== undefined) {
    parts.push('', `![Throughput by row](${chartPath})`);
  }
  return parts.join('\n');
}

const CHART_WIDTH = 900;
const LABEL_WIDTH = 360;
const BAR_HEIGHT = 16;
const PANEL_GAP = 34;

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * Horizontal bars of throughput, one panel per payload size, each scaled to its fastest transport;
 * the dispatch ceiling (no I/O) may run off the scale, its bar then ends in an arrow.
 */
export function throughputChart(report: BenchReport): string {
  const rows = pointToPoint(report).filter((row) => row.status === 'ok');
  const sizes = report.meta.plan.throughputCounts.map((entry) => entry.payloadBytes);
  const barSpace = CHART_WIDTH - LABEL_WIDTH - 90;
  const elements: string[] = [];
  let y = 10;
  for (const bytes of sizes) {
    const values = rows.map((row) => row.throughput.find((entry) => entry.payloadBytes === bytes)?.msgsPerSec ?? 0);
    const max = Math.max(1, ...values.filter((_, index) => rows[index].id !== DISPATCH_CEILING_ROW));
    elements.push(`<text x="0" y="${y + 14}" font-weight="bold">${escapeXml(sizeLabel(bytes))} payloads (msg/s)</text>`);
    y += 24;
    rows.forEach((row, index) => {
      const offScale = values[index] > max;
      const width = Math.max(1, (Math.min(values[index], max) / max) * barSpace);
      const colour = row.id.startsWith('nestjs-zeromq') ? '#d9480f' : row.id === DISPATCH_CEILING_ROW ? '#868e96' : '#1c7ed6';
      elements.push(
        `<text x="${LABEL_WIDTH - 6}" y="${y + 12}" text-anchor="end">${escapeXml(row.label)}</text>`,
        `<rect x="${LABEL_WIDTH}" y="${y}" width="${width.toFixed(1)}" height="${BAR_HEIGHT - 3}" fill="${colour}"/>`,
        `<text x="${(LABEL_WIDTH + width + 4).toFixed(1)}" y="${y + 12}">${offScale ? '▶ ' : ''}${rate(values[index])}</text>`,
      );
      y += BAR_HEIGHT;
    });
    y += PANEL_GAP - BAR_HEIGHT;
  }
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${CHART_WIDTH}" height="${y}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    ...elements,
    '</svg>',
    '',
  ].join('\n');
}
