import { nowUs } from './clock.js';

/**
 * Pattern every benchmark event is emitted with and handled under. The coordinator gives each
 * row's processes their own (`rowPattern`, in the environment), so that rows sharing a broker
 * (Redis, NATS) never receive each other's messages.
 */
export const BENCH_PATTERN = process.env.BENCH_PATTERN ?? 'bench.event';
/** Pattern of benchmark requests (`send()` to `@MessagePattern`). */
export const BENCH_REQUEST_PATTERN = 'bench.request';

/** Sequence number of a phase's end marker: not a message to count, the sign that the phase is over. */
export const END_MARKER_SEQUENCE = -1;

/** One benchmark message. Short keys keep the fixed part small next to the padding. */
export interface BenchMessage {
  /** Phase id: late messages of an earlier phase are told apart. */
  p: number;
  /** Sequence number within the phase. */
  s: number;
  /** Send time, µs of CLOCK_MONOTONIC (see clock.ts). */
  t: number;
  /** Padding that brings the JSON text to the phase's payload size. */
  d: string;
}

/** Builds the messages of one phase, all padded to about `payloadBytes` of JSON. */
export class MessageFactory {
  private readonly padding: string;

  constructor(
    private readonly phaseId: number,
    payloadBytes: number,
  ) {
    const fixed = JSON.stringify({ p: phaseId, s: 1_000_000, t: nowUs(), d: '' } satisfies BenchMessage).length;
    this.padding = 'x'.repeat(Math.max(0, payloadBytes - fixed));
  }

  next(sequence: number): BenchMessage {
    return { p: this.phaseId, s: sequence, t: nowUs(), d: this.padding };
  }

  endMarker(): BenchMessage {
    return { p: this.phaseId, s: END_MARKER_SEQUENCE, t: nowUs(), d: '' };
  }
}
