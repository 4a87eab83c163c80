import { readFileSync } from 'node:fs';
import { nodeLimit } from './figures.js';
import { checkGuard, guardPassed, noiseMargin } from './guard.js';
import { GUARD_TARGETS, type GuardTarget } from './guard-targets.js';
import type { BenchReport } from './bench-report.js';
import { ROWS, AT_LEAST_ONCE_ROW, AT_MOST_ONCE_ROW, NEST_TCP_ROW, NODE_LIMIT_ROWS, RAW_BATCHED_ROW, RAW_BASELINE_ROW } from './rows.js';
import type { RowResult } from './runner.js';

/** A report whose rows have, at ~100 B windowed, these msg/s per round (the figure is their median). */
function reportOf(rounds: Record<string, number[]>): BenchReport {
  const rows = Object.entries(rounds).map(([id, runs]): RowResult => {
    const sorted = [...runs].sort((a, b) => a - b);
    const result = { payloadBytes: 100, runs, msgsPerSec: sorted[Math.floor(sorted.length / 2)] };
    return { id, label: id, status: 'ok', throughput: [result as RowResult['throughput'][number]], burst: [], latency: [] };
  });
  return { meta: {} as BenchReport['meta'], rows };
}

/** Every guarded row at `factor` times its target's ratio to its `versus` row, in every round given. */
function runAt(factors: number[], base = 10_000): Record<string, number[]> {
  const rounds: Record<string, number[]> = {};
  const guarded = new Set(GUARD_TARGETS.map((target) => target.row));
  for (const target of GUARD_TARGETS.filter((candidate) => !guarded.has(candidate.versus))) {
    rounds[target.versus] = factors.map(() => base);
  }
  // A row compared with another guarded row comes after it in GUARD_TARGETS.
  for (const target of GUARD_TARGETS) {
    rounds[target.row] = factors.map((factor, index) => rounds[target.versus][index] * target.ratio * factor);
  }
  return rounds;
}

const atMostOnce = GUARD_TARGETS.find((target) => target.row === AT_MOST_ONCE_ROW && target.versus === NEST_TCP_ROW)!;
const atLeastOnce = GUARD_TARGETS.find((target) => target.row === AT_LEAST_ONCE_ROW && target.versus === NEST_TCP_ROW)!;
const outcomeOf = (outcomes: ReturnType<typeof checkGuard>, target: GuardTarget) => outcomes.find((outcome) => outcome.target === target)!;

describe('bench guard', () => {
  // Rounds of the reference at 1.0×, 1.25× and 1.2× each target: 20% noise between rounds.
  const reference = reportOf(runAt([1, 1.25, 1.2]));

  it('guards rows the bench has, found by id (a renamed row fails here, not silently in CI)', () => {
    const ids = new Set(ROWS.map((row) => row.id));
    for (const target of GUARD_TARGETS) {
      expect([target.row, target.versus].filter((id) => !ids.has(id))).toEqual([]);
    }
    // The Node limit the ratio summary and the report divide by is found by id too.
    expect(Object.keys(NODE_LIMIT_ROWS).filter((id) => !ids.has(id))).toEqual([]);
  });

  it('takes the Node limit from the better raw row at each size', () => {
    const report = reportOf({ [RAW_BATCHED_ROW]: [240_000], [RAW_BASELINE_ROW]: [87_000] });
    expect(nodeLimit(report, 100, 'windowed')).toMatchObject({ msgsPerSec: 240_000, row: { id: RAW_BATCHED_ROW } });
    report.rows.find((row) => row.id === RAW_BATCHED_ROW)!.throughput[0].msgsPerSec = 1;
    expect(nodeLimit(report, 100, 'windowed')).toMatchObject({ msgsPerSec: 87_000, row: { id: RAW_BASELINE_ROW } });
  });

  it('reports a target that is not enforced yet, and fails nothing on it', () => {
    // Every target the issues set is enforced now (at-least-once since the full run of 2026-12-07); a
    // new one starts reported-only, as this one did.
    expect(atLeastOnce).toMatchObject({ ratio: 1, payloadBytes: 100, mode: 'windowed' });
    expect(atLeastOnce.enforced ?? true).toBe(true);
    const reportedOnly = { ...atLeastOnce, enforced: false };
    const run = runAt([1.1]);
    run[AT_LEAST_ONCE_ROW] = run[AT_LEAST_ONCE_ROW].map((value) => value * 0.5);
    const outcomes = checkGuard(reportOf(run), reference, [reportedOnly]);
    expect(outcomes[0]).toMatchObject({ enforced: false, checked: true, passed: false });
    expect(outcomes[0].detail).toMatch(/0\.55× = .*: not met \(reported, not enforced\)$/);
    expect(guardPassed(outcomes)).toBe(true);
    // The same miss of an enforced target fails the run.
    const enforced = checkGuard(reportOf(run), reference);
    expect(outcomeOf(enforced, atLeastOnce)).toMatchObject({ enforced: true, passed: false });
    expect(guardPassed(enforced)).toBe(false);
    // Met, it says so, so that the target gets enforced.
    expect(checkGuard(reportOf(runAt([1.1])), reference, [reportedOnly])[0].detail).toMatch(
      /; met: enforce it in bench\/guard-targets\.ts$/,
    );
  });

  it('measures the noise margin as the largest fall of one round below another in the reference run, of any guarded pair', () => {
    expect(noiseMargin(reference)).toBeCloseTo(0.2, 10);
    expect(noiseMargin(reportOf(runAt([1])))).toBeUndefined();
    // One pair whose rounds spread more sets the margin of every target.
    const spread = runAt([1, 1.25, 1.2]);
    spread[AT_LEAST_ONCE_ROW] = spread[AT_LEAST_ONCE_ROW].map((value, round) => (round === 0 ? value * 0.75 : value));
    expect(noiseMargin(reportOf(spread))).toBeCloseTo(0.4, 10);
    expect(outcomeOf(checkGuard(reportOf(runAt([0.7])), reportOf(spread)), atMostOnce)).toMatchObject({ passed: true });
    expect(outcomeOf(checkGuard(reportOf(runAt([0.7])), reference), atMostOnce)).toMatchObject({ passed: false });
  });

  it('passes at the target less the measured margin and fails just below it', () => {
    // 20% margin: 2× becomes a minimum of 1.6×.
    expect(checkGuard(reportOf(runAt([0.81])), reference).every((outcome) => outcome.passed)).toBe(true);
    const below = checkGuard(reportOf(runAt([0.79])), reference);
    expect(below.map((outcome) => outcome.passed)).toEqual(GUARD_TARGETS.map(() => false));
    expect(outcomeOf(below, atMostOnce).detail).toMatch(/1\.58× = .*minimum 1\.60× \(2× less the 20% noise .*: FAILED$/);
  });

  it('fails a 60% slowdown of at-most-once from the published 2.77× Nest TCP', () => {
    const published = runAt([2.77 / 2]);
    published[AT_MOST_ONCE_ROW] = published[AT_MOST_ONCE_ROW].map((value) => value * 0.4);
    const outcome = outcomeOf(checkGuard(reportOf(published), reference), atMostOnce);
    expect(outcome).toMatchObject({ checked: true, passed: false });
  });

  it('fails, naming it, when a figure it needs is missing from the run or the reference', () => {
    const run = runAt([1]);
    delete run[AT_MOST_ONCE_ROW];
    const outcomes = checkGuard(reportOf(run), reference);
    expect(outcomeOf(outcomes, atMostOnce)).toMatchObject({ checked: false, passed: false });
    expect(outcomeOf(outcomes, atMostOnce).detail).toContain(`missing ${AT_MOST_ONCE_ROW} (windowed, ~100 B)`);
    const withoutReference = checkGuard(reportOf(runAt([1])), undefined);
    expect(withoutReference.every((outcome) => !outcome.passed && outcome.detail.includes('two rounds'))).toBe(true);
    const oneRound = checkGuard(reportOf(runAt([1])), reportOf(runAt([1])));
    expect(oneRound.every((outcome) => !outcome.passed)).toBe(true);
  });

  it('finds two rounds of every guarded pair in the committed reference run (bench/results/latest.json), which meets every enforced target', () => {
    const latest = JSON.parse(readFileSync('bench/results/latest.json', 'utf8')) as BenchReport;
    const outcomes = checkGuard(latest, latest);
    console.log(outcomes.map((outcome) => outcome.detail).join('\n'));
    expect(outcomes.filter((outcome) => !outcome.checked).map((outcome) => outcome.detail)).toEqual([]);
    expect(outcomes.filter((outcome) => outcome.enforced && !outcome.passed).map((outcome) => outcome.detail)).toEqual([]);
    expect(guardPassed(outcomes)).toBe(true);
  });
});
