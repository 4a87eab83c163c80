import type { ThroughputMode } from './plan.js';
import {
  AT_LEAST_ONCE_ROW,
  AT_MOST_ONCE_ROW,
  CURVE_ROW,
  METRICS_ON_ROW,
  NEST_TCP_REQUEST_RESPONSE_ROW,
  NEST_TCP_ROW,
  REQUEST_RESPONSE_ROW,
} from './rows.js';

/** A speed target an issue set, as a ratio of two rows' figures in the same run. */
export interface GuardTarget {
  /** How the report names it. */
  name: string;
  /** The issue that set it. */
  issue: number;
  /** Row ids (rows.ts): `row` ÷ `versus` must be at least `ratio`. */
  row: string;
  versus: string;
  payloadBytes: number;
  mode: ThroughputMode;
  ratio: number;
  /**
   * False for a target an issue set that is not met yet: every run reports it, none fails on it.
   * Set to true (or remove) once the full run meets it.
   * @default true
   */
  enforced?: boolean;
}

/**
 * The targets the guard holds: those the issues set and the full run met (docs/performance.md,
 * "Status against the targets"). A target not met yet is reported but not enforced
 * (`enforced: false`): a guard that always fails guards nothing.
 */
export const GUARD_TARGETS: readonly GuardTarget[] = [
  {
    name: 'at-most-once ≥ 2× Nest TCP',
    issue: 10,
    row: AT_MOST_ONCE_ROW,
    versus: NEST_TCP_ROW,
    payloadBytes: 100,
    mode: 'windowed',
    ratio: 2,
  },
  {
    name: 'request-response ≥ 1.5× Nest TCP send()',
    issue: 10,
    row: REQUEST_RESPONSE_ROW,
    versus: NEST_TCP_REQUEST_RESPONSE_ROW,
    payloadBytes: 100,
    mode: 'windowed',
    ratio: 1.5,
  },
  { name: 'CURVE ≥ 0.8× plaintext', issue: 10, row: CURVE_ROW, versus: AT_MOST_ONCE_ROW, payloadBytes: 100, mode: 'windowed', ratio: 0.8 },
  {
    name: 'metrics on ≥ 0.95× off',
    issue: 14,
    row: METRICS_ON_ROW,
    versus: AT_MOST_ONCE_ROW,
    payloadBytes: 100,
    mode: 'windowed',
    ratio: 0.95,
  },
  {
    name: 'at-least-once ≥ 1× Nest TCP',
    issue: 22,
    row: AT_LEAST_ONCE_ROW,
    versus: NEST_TCP_ROW,
    payloadBytes: 100,
    mode: 'windowed',
    ratio: 1,
    // Enforced since the full run of 2026-12-07 (docs/performance.md), the guard's reference, met it.
  },
];
