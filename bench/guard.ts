import { markdownTable } from 'markdown-table';
import { DASH, ratio, sizeLabel } from './format.js';
import { figure, modeResults, nodeLimit } from './figures.js';
import { GUARD_TARGETS, type GuardTarget } from './guard-targets.js';
import type { BenchReport } from './bench-report.js';
import { AT_MOST_ONCE_ROW, METRICS_ON_ROW, NEST_TCP_ROW } from './rows.js';

/** The row the ratio summary is about: nestjs-zeromq at-most-once with default options. */
export const GUARDED_ROW = AT_MOST_ONCE_ROW;
/**
 * Whether a run checks the guard unless `--guard` / `--no-guard` says otherwise: off, since a
 * local run on a busy machine says little; CI passes `--guard`.
 */
export const GUARD_ON_BY_DEFAULT = false;

export interface GuardOutcome {
  target: GuardTarget;
  /** False for a target that is reported only (`GuardTarget.enforced`): its miss fails nothing. */
  enforced: boolean;
  /** False when a figure the check needs is missing (this run or the reference): that fails too. */
  checked: boolean;
  passed: boolean;
  /** The figures compared, or which is missing. */
  detail: string;
}

/** The per-round ratios of a target's rows in a report (rounds of one run, index by index). */
export function roundRatios(report: BenchReport, target: GuardTarget): number[] | undefined {
  const rounds = (id: string) => {
    const row = report.rows.find((candidate) => candidate.id === id && candidate.status === 'ok');
    return row === undefined ? undefined : modeResults(row, target.mode).find((entry) => entry.payloadBytes === target.payloadBytes)?.runs;
  };
  const [own, versus] = [rounds(target.row), rounds(target.versus)];
  if (own === undefined || versus === undefined || own.length === 0 || own.length !== versus.length) {
    return undefined;
  }
  return own.map((value, index) => value / versus[index]);
}

/** How far one round's ratio of a target's rows fell below another's in a run (1 − lowest ÷ highest); undefined without two rounds. */
function roundSpread(reference: BenchReport, target: GuardTarget): number | undefined {
  const ratios = roundRatios(reference, target);
  return ratios === undefined || ratios.length < 2 ? undefined : 1 - Math.min(...ratios) / Math.max(...ratios);
}

/**
 * The noise a single round (CI's quick run has one) is measured to carry: the largest round spread
 * of any guarded pair of rows in the reference run, applied to every target. One margin for all,
 * because a pair whose rounds happened to agree says little about one quick round: in the full run
 * of 2026-12-07 CURVE's rounds fell 4% apart, while quick runs put it between 0.69× and 1.10×.
 * Undefined when a pair lacks two rounds.
 */
export function noiseMargin(reference: BenchReport, targets: readonly GuardTarget[] = GUARD_TARGETS): number | undefined {
  let margin = 0;
  for (const target of targets) {
    const spread = roundSpread(reference, target);
    if (spread === undefined) {
      return undefined;
    }
    margin = Math.max(margin, spread);
  }
  return margin;
}

/**
 * Checks every target on this run's figures: the ratio must reach the target less the noise margin
 * measured in `reference` (the last full run, bench/results/latest.json). A missing figure fails.
 */
export function checkGuard(report: BenchReport, reference: BenchReport | undefined, targets = GUARD_TARGETS): GuardOutcome[] {
  // One for all targets; undefined when any target's pair lacks two rounds in the reference.
  const margin = reference === undefined ? undefined : noiseMargin(reference, targets);
  return targets.map((target) => {
    const enforced = target.enforced ?? true;
    const failed = enforced ? 'FAILED' : 'not met (reported, not enforced)';
    const where = `${target.mode}, ${sizeLabel(target.payloadBytes)}`;
    const own = figure(report, target.row, target.payloadBytes, target.mode);
    const versus = figure(report, target.versus, target.payloadBytes, target.mode);
    const missing = [
      own === undefined ? `${target.row} (${where})` : undefined,
      versus === undefined || versus <= 0 ? `${target.versus} (${where})` : undefined,
      margin === undefined ? `two rounds of both rows in the reference run` : undefined,
    ].filter((what) => what !== undefined);
    if (own === undefined || versus === undefined || versus <= 0 || margin === undefined) {
      return { target, enforced, checked: false, passed: false, detail: `${target.name}: ${failed}, missing ${missing.join(', ')}` };
    }
    const minimum = target.ratio * (1 - margin);
    const ratio = own / versus;
    const passed = ratio >= minimum;
    return {
      target,
      enforced,
      checked: true,
      passed,
      detail:
        `${target.name} (issue ${target.issue}, ${where}): ${ratio.toFixed(2)}× = ${Math.round(own).toLocaleString('en-US')} ÷ ` +
        `${Math.round(versus).toLocaleString('en-US')} msg/s; minimum ${minimum.toFixed(2)}× (${target.ratio}× less the ` +
        `${(margin * 100).toFixed(0)}% noise measured between rounds of the reference run, the most of any guarded pair)${passed ? '' : `: ${failed}`}` +
        (!enforced && passed ? '; met: enforce it in bench/guard-targets.ts' : ''),
    };
  });
}

/** Whether a run passes the guard: every enforced target passed (reported-only ones fail nothing). */
export function guardPassed(outcomes: readonly GuardOutcome[]): boolean {
  return outcomes.every((outcome) => outcome.passed || !outcome.enforced);
}

/**
 * The guarded row against Nest TCP and the Node limit, per mode and payload size, as a small table;
 * with metrics on ÷ off too once the run has the metrics row (issue 14).
 */
export function ratioSummary(report: BenchReport): string {
  const sizes = report.meta.plan.throughputCounts.map((entry) => entry.payloadBytes);
  const metricsOn = report.rows.some((row) => row.id === METRICS_ON_ROW && row.status === 'ok');
  const lines = report.meta.plan.throughputModes.flatMap((mode) =>
    sizes.map((bytes) => {
      const own = figure(report, GUARDED_ROW, bytes, mode);
      return [
        mode,
        sizeLabel(bytes),
        own === undefined ? DASH : Math.round(own).toLocaleString('en-US'),
        ratio(own, figure(report, NEST_TCP_ROW, bytes, mode)),
        ratio(own, nodeLimit(report, bytes, mode)?.msgsPerSec),
        ...(metricsOn ? [ratio(figure(report, METRICS_ON_ROW, bytes, mode), own)] : []),
      ];
    }),
  );
  const header = ['mode', 'payload', `${GUARDED_ROW} msg/s`, '× Nest TCP', '× Node limit', ...(metricsOn ? ['metrics on ÷ off'] : [])];
  return markdownTable([header, ...lines], { align: ['l', 'l', ...Array<'r'>(header.length - 2).fill('r')] });
}
