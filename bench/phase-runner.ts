import type { ChildHandle } from './child-handle.js';
import type { ResourceUse } from './clock.js';
import { busyCores, measureMachineUse } from './machine-load.js';
import type { BenchPlan } from './plan.js';
import type { LatencySummary, PhaseSpec, ReceiveReport, SendReport } from './protocol.js';

export const REPLY_TIMEOUT_MS = 5_000;

/** One phase as measured: the producer's and the consumers' views together. */
export interface PhaseResult {
  sent: number;
  failed: number;
  errors: Record<string, number>;
  /** Handled messages (broadcast rows: summed over the subscribers). */
  received: number;
  /** Sent but never handled within the grace time (broadcast rows: summed over the subscribers). */
  lost: number;
  stray: number;
  /**
   * Handled messages per second, from the first send to the last handler call (broadcast rows: the
   * mean of the subscribers' rates).
   */
  msgsPerSec: number;
  seconds: number;
  /** Broadcast rows: each subscriber's handled messages per second. */
  perSubscriber?: number[];
  latency?: LatencySummary;
  /** Producer side: from the call until its promise settled (paced phases). */
  completion?: LatencySummary;
  /** Producer side: how late each send left against its schedule (paced phases). */
  lag?: LatencySummary;
  /** The producer process's CPU time and page faults over the phase (absent for in-process rows). */
  producerUse?: ResourceUse;
  /** The consumer process's (broadcast rows: the mean of the subscribers'). */
  consumerUse?: ResourceUse;
  /**
   * Cores busy with anything but the row's processes during the phase (the machine's busy CPU time
   * less theirs, over the phase's wall time): other programs on the machine, the coordinator, the
   * kernel. Near 0 on a quiet machine; when it is not, the phase shared the cores.
   */
  busyElsewhereCores?: number;
}

/** How fast a phase went, for the progress log. */
export function describe(phase: PhaseResult): string {
  const lost = phase.lost > 0 ? `, lost ${phase.lost}` : '';
  const failed = phase.failed > 0 ? `, ${phase.failed} failed sends ${JSON.stringify(phase.errors)}` : '';
  const elsewhere = phase.busyElsewhereCores === undefined ? '' : `, ${phase.busyElsewhereCores.toFixed(2)} cores busy elsewhere`;
  const latency =
    phase.latency === undefined
      ? ''
      : `, p50 ${phase.latency.p50} µs, p99 ${phase.latency.p99} µs, p999 ${phase.latency.p999} µs` +
        (phase.lag === undefined ? '' : `, send lag p99 ${phase.lag.p99} µs`);
  const each =
    phase.perSubscriber === undefined
      ? ''
      : ` per subscriber (${phase.perSubscriber.map((value) => Math.round(value).toLocaleString('en-US')).join(', ')})`;
  return `${Math.round(phase.msgsPerSec).toLocaleString('en-US')} msg/s${each}${latency}${lost}${failed}${elsewhere}`;
}

/**
 * Numbers the phases and runs each one across a row's processes: one sender, and one consumer (or
 * one per subscriber of a broadcast row, whose phases end with end markers).
 */
export class PhaseRunner {
  private nextId = 1;

  constructor(
    private readonly consumers: readonly ChildHandle[],
    private readonly sender: ChildHandle,
    private readonly plan: BenchPlan,
    private readonly broadcast: boolean,
  ) {}

  async run(
    kind: PhaseSpec['kind'],
    payloadBytes: number,
    count: number,
    pace: Pick<PhaseSpec, 'rate' | 'burst'> = {},
  ): Promise<PhaseResult> {
    const phase: PhaseSpec = { id: this.nextId++, kind, payloadBytes, count, ...pace, sendTimeoutMs: this.plan.sendTimeoutMs };
    if (this.broadcast) {
      phase.endMarkers = true;
    }
    await Promise.all(this.consumers.map((consumer) => consumer.request({ type: 'arm', phase }, 'armed', REPLY_TIMEOUT_MS)));
    // Registered before the run: a fast phase completes before 'sent' arrives.
    const reported = new Set<ChildHandle>();
    const received = this.consumers.map((consumer) => {
      const report = consumer.next(
        'received',
        this.plan.sendTimeoutMs + this.plan.graceMs + REPLY_TIMEOUT_MS,
        (reply) => reply.report.phaseId === phase.id,
      );
      report.then(
        () => reported.add(consumer),
        () => undefined,
      );
      return report;
    });
    let result: PhaseResult;
    try {
      result = await this.measure(phase, received, reported);
    } catch (error) {
      // The markers, if any, stop too; the phase's own error is the one to report.
      await this.stopMarkers(phase).catch(() => undefined);
      throw error;
    }
    await this.stopMarkers(phase);
    return result;
  }

  private async measure(
    phase: PhaseSpec,
    received: Array<Promise<{ report: ReceiveReport }>>,
    reported: Set<ChildHandle>,
  ): Promise<PhaseResult> {
    const machine = measureMachineUse();
    const sent: SendReport = (await this.sender.request({ type: 'run', phase }, 'sent', this.plan.sendTimeoutMs + REPLY_TIMEOUT_MS)).report;
    // A consumer still short of the count after the grace time reports what it has: the phase lost messages.
    const collect = setTimeout(() => {
      for (const consumer of this.consumers.filter((candidate) => !reported.has(candidate))) {
        consumer.send({ type: 'collect', phaseId: phase.id });
      }
    }, this.plan.graceMs);
    try {
      const reports = (await Promise.all(received)).map((reply) => reply.report);
      const result = combine(sent, reports, this.consumers.includes(this.sender));
      const used = machine();
      const ownUs = reports.reduce((total, report) => total + report.use.cpuUs, result.producerUse?.cpuUs ?? 0);
      result.busyElsewhereCores = Math.max(0, busyCores({ ...used, busyUs: used.busyUs - ownUs }));
      return result;
    } finally {
      clearTimeout(collect);
    }
  }

  private async stopMarkers(phase: PhaseSpec): Promise<void> {
    if (phase.endMarkers === true) {
      await this.sender.request({ type: 'stop-markers', phaseId: phase.id }, 'markers-stopped', REPLY_TIMEOUT_MS + this.plan.sendTimeoutMs);
    }
  }
}

function combine(sent: SendReport, reports: ReceiveReport[], inProcess: boolean): PhaseResult {
  const each = reports.map((received) => {
    const seconds = Math.max(1e-6, (received.lastReceiveUs - sent.firstSendUs) / 1e6);
    return { received, seconds, msgsPerSec: received.received / seconds };
  });
  const sum = (pick: (entry: (typeof each)[number]) => number) => each.reduce((total, entry) => total + pick(entry), 0);
  return {
    sent: sent.sent,
    failed: sent.failed,
    errors: sent.errors,
    received: sum((entry) => entry.received.received),
    lost: sum((entry) => Math.max(0, sent.sent - entry.received.received)),
    stray: sum((entry) => entry.received.stray),
    msgsPerSec: sum((entry) => entry.msgsPerSec) / each.length,
    seconds: Math.max(...each.map((entry) => entry.seconds)),
    perSubscriber: each.length > 1 ? each.map((entry) => entry.msgsPerSec) : undefined,
    latency: reports.length === 1 ? reports[0].latency : undefined,
    completion: sent.completion,
    lag: sent.lag,
    producerUse: inProcess ? undefined : sent.use,
    consumerUse: {
      cpuUs: sum((entry) => entry.received.use.cpuUs) / each.length,
      minorFaults: sum((entry) => entry.received.use.minorFaults) / each.length,
    },
  };
}
