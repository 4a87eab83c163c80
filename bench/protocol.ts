/**
 * What the coordinator (bench/main.ts) and the child processes (bench/child.ts) say to each
 * other over the fork() IPC channel. Times are microseconds of CLOCK_MONOTONIC
 * (`process.hrtime`), which every process on the machine shares, so a send time stamped by the
 * producer can be compared with a receive time taken by the consumer.
 */

import type { ResourceUse } from './clock.js';

/** One measured (or warm-up) stretch of traffic. */
export interface PhaseSpec {
  id: number;
  kind: 'warmup' | 'throughput' | 'latency';
  /** Approximate JSON size of one message. */
  payloadBytes: number;
  /** Messages the producer sends. */
  count: number;
  /** Offered rate in msg/s for a paced phase; absent = as fast as the transport takes them. */
  rate?: number;
  /** The producer stops sending after this long even if `count` was not reached. */
  sendTimeoutMs: number;
  /** Sends outstanding at once, instead of the row's own window (the soak's flood). */
  window?: number;
  /**
   * Burst mode: sends fired per burst in a plain loop, all awaited before the next burst (a producer
   * whose window is 1 still awaits each send).
   */
  burst?: number;
  /**
   * Broadcast rows: after the phase's messages the producer sends end markers (see
   * `END_MARKER_SEQUENCE`) until told to stop, so that a subscriber that lost messages (a PUB
   * socket drops past its high-water mark) still learns that the phase is over.
   */
  endMarkers?: boolean;
}

export type ParentMessage =
  /**
   * Consumer: start the transport and answer with the endpoint; producer: connect to it (broadcast
   * rows: to every subscriber's endpoint in `endpoints`, and wait until `subscribers` are there).
   */
  | { type: 'open'; endpoint?: string; endpoints?: string[]; subscribers?: number }
  /** Consumer: expect `phase.count` messages of this phase. */
  | { type: 'arm'; phase: PhaseSpec }
  /** Producer (or an in-process consumer): send the phase's messages. */
  | { type: 'run'; phase: PhaseSpec }
  /** Producer: stop sending the phase's end markers (every subscriber has reported). */
  | { type: 'stop-markers'; phaseId: number }
  /** Consumer: report what arrived so far (the producer is done and the grace time is over). */
  | { type: 'collect'; phaseId: number }
  /** Either side: report current memory; `collect` runs a full GC first (needs --expose-gc). */
  | { type: 'memory'; collect?: boolean }
  | { type: 'close' };

export interface LatencySummary {
  count: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

export interface ReceiveReport {
  phaseId: number;
  received: number;
  /** Messages of other phases that arrived late (they are not counted in `received`). */
  stray: number;
  lastReceiveUs: number;
  /** Emit-to-handler latency in µs (paced phases only). */
  latency?: LatencySummary;
  /** The consumer process's CPU time and page faults from being armed until this report. */
  use: ResourceUse;
}

export interface SendReport {
  phaseId: number;
  sent: number;
  failed: number;
  /** Failures by error code (`QUEUE_FULL`, `EAGAIN`, ...). */
  errors: Record<string, number>;
  firstSendUs: number;
  lastSendUs: number;
  /** Call-to-settle time of each send in µs, on the producer (paced phases only). */
  completion?: LatencySummary;
  /**
   * Paced phases: how late each send left against its schedule (message `n` at `n / rate` after
   * the first), µs. About the timer's tick (1 ms) at most when the producer keeps up.
   */
  lag?: LatencySummary;
  /** The producer process's CPU time and page faults from the first send until every send settled. */
  use?: ResourceUse;
}

export type ChildMessage =
  | { type: 'opened'; endpoint?: string }
  | { type: 'armed'; phaseId: number }
  | { type: 'sent'; report: SendReport }
  | { type: 'markers-stopped'; phaseId: number; markers: number }
  | { type: 'received'; report: ReceiveReport }
  | { type: 'memory'; rssBytes: number; heapUsedBytes: number; peakRssBytes: number }
  | { type: 'closed'; peakRssBytes: number }
  | { type: 'failed'; message: string };
