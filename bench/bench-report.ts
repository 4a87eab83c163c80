import type { BenchPlan } from './plan.js';
import type { ProfileSummary } from './profile.js';
import type { RowResult } from './runner.js';

/** What a run was: when, how long, on what machine and software, under which plan. */
export interface RunMeta {
  date: string;
  mode: BenchPlan['mode'];
  durationSeconds: number;
  machine: { cpu: string; cores: number; memoryGiB: number; os: string };
  versions: Record<string, string>;
  /** 1/5/15-minute load averages before and after the run. */
  load: { before: number[]; after: number[] };
  plan: BenchPlan;
}

/** A run's results, as `bench/results/*.json` keeps them; the report's tables and the guard read it. */
export interface BenchReport {
  meta: RunMeta;
  rows: RowResult[];
  profiles?: ProfileSummary[];
}
