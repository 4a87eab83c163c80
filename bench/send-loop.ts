import { setTimeout as sleep, setImmediate as nextTurn } from 'node:timers/promises';
import { measureResourceUse, nowUs } from './clock.js';
import { MessageFactory } from './message.js';
import { LatencyHistogram } from './latency-histogram.js';
import type { PhaseSpec, SendReport } from './protocol.js';

/** What a send loop drives: a producer, or an in-process row's injector. */
export interface Sender {
  send(message: ReturnType<MessageFactory['next']>): Promise<unknown>;
  /** See `BenchProducer.sendBatch`: when present, the loop hands over `window` messages per call. */
  sendBatch?(messages: Array<ReturnType<MessageFactory['next']>>): Promise<unknown>;
  relieve?(): Promise<void>;
}

/**
 * Sends one phase's messages: as fast as the transport takes them (at most `window`
 * outstanding, or in bursts of `phase.burst`), or paced at `phase.rate` msg/s. Bounded by
 * `phase.count` and `phase.sendTimeoutMs`.
 */
export async function runSendPhase(sender: Sender, phase: PhaseSpec, window: number): Promise<SendReport> {
  const messages = new MessageFactory(phase.id, phase.payloadBytes);
  const used = measureResourceUse();
  const report: SendReport = { phaseId: phase.id, sent: 0, failed: 0, errors: {}, firstSendUs: nowUs(), lastSendUs: 0 };
  const deadline = Date.now() + phase.sendTimeoutMs;
  // Paced phases also time each call until its promise settles (a send()'s round trip), and how
  // late each send left against its schedule.
  const completion = phase.rate === undefined ? undefined : new LatencyHistogram();
  const lag = phase.rate === undefined ? undefined : new LatencyHistogram();
  const inFlight = new Window(window, report, completion);

  if (phase.rate !== undefined) {
    await sendPaced(sender, phase, messages, inFlight, lag!, deadline);
  } else if (sender.sendBatch !== undefined) {
    // A burst has no meaning of its own here: the loop sends batch after batch either way.
    await sendBatches(sender, phase.count, window, messages, report, deadline);
  } else if (phase.burst !== undefined) {
    await sendBursts(sender, phase, messages, report, deadline);
  } else {
    // A window of 1 awaits every send already: it yields every YIELD_EVERY sends, not after each.
    const yieldEvery = window === 1 ? YIELD_EVERY : Math.min(window, YIELD_EVERY);
    for (let sequence = 0; sequence < phase.count && Date.now() < deadline; sequence++) {
      await inFlight.send(sender, messages.next(sequence));
      if ((sequence + 1) % yieldEvery === 0) {
        await (sender.relieve?.() ?? nextTurn());
      }
    }
  }
  await inFlight.drain(deadline);
  report.lastSendUs = nowUs();
  // Not destroyed: a send that settles after the deadline may still record into it.
  report.completion = completion?.summary();
  report.lag = lag?.summary();
  lag?.destroy();
  report.use = used();
  return report;
}

/**
 * Paced mode: message `n` is due at `start + n / rate`. The loop wakes every millisecond (Node's
 * timer resolution) and sends every message due by then, each stamped when it is sent; `lag`
 * records how late each left against its schedule, so that a producer that fell behind (a
 * blocked event loop, a send that held the next ones back) shows instead of hiding in the
 * latency figures (coordinated omission).
 */
async function sendPaced(
  sender: Sender,
  phase: PhaseSpec,
  messages: MessageFactory,
  inFlight: Window,
  lag: LatencyHistogram,
  deadline: number,
): Promise<void> {
  const intervalUs = 1e6 / phase.rate!;
  const start = nowUs();
  let sequence = 0;
  while (sequence < phase.count && Date.now() < deadline) {
    const due = Math.min(phase.count, Math.floor((nowUs() - start) / intervalUs) + 1);
    const batch: Array<ReturnType<MessageFactory['next']>> = [];
    for (; sequence < due; sequence++) {
      lag.record(nowUs() - (start + sequence * intervalUs));
      const message = messages.next(sequence);
      if (sender.sendBatch === undefined) {
        await inFlight.send(sender, message);
      } else {
        batch.push(message);
      }
    }
    if (batch.length > 0) {
      await inFlight.sendBatch(sender, batch);
    }
    await sleep(1);
  }
}

/** A producer with `sendBatch`: `size` messages per call, each call awaited, in a tight loop. */
async function sendBatches(
  sender: Sender,
  count: number,
  size: number,
  messages: MessageFactory,
  report: SendReport,
  deadline: number,
): Promise<void> {
  let sinceYield = 0;
  for (let sequence = 0; sequence < count && Date.now() < deadline;) {
    const batch: Array<ReturnType<MessageFactory['next']>> = [];
    for (const end = Math.min(count, sequence + size); sequence < end; sequence++) {
      batch.push(messages.next(sequence));
    }
    try {
      await sender.sendBatch!(batch);
      report.sent += batch.length;
    } catch (error) {
      countFailure(report, error, batch.length);
    }
    sinceYield += batch.length;
    if (sinceYield >= YIELD_EVERY) {
      sinceYield = 0;
      await nextTurn();
    }
  }
}

/**
 * Burst mode: `phase.burst` sends fired in a plain loop (no await between them), then all awaited
 * (until `deadline` at most), then the transport relieved, and again until `phase.count`.
 */
async function sendBursts(sender: Sender, phase: PhaseSpec, messages: MessageFactory, report: SendReport, deadline: number): Promise<void> {
  for (let sequence = 0; sequence < phase.count && Date.now() < deadline;) {
    const pending: Array<Promise<unknown>> = [];
    for (const end = Math.min(phase.count, sequence + phase.burst!); sequence < end; sequence++) {
      pending.push(sender.send(messages.next(sequence)));
    }
    const outcomes = await settledBefore(pending, deadline);
    for (const outcome of outcomes ?? []) {
      if (outcome.status === 'fulfilled') {
        report.sent++;
      } else {
        countFailure(report, outcome.reason);
      }
    }
    if (outcomes === undefined) {
      return;
    }
    await (sender.relieve?.() ?? nextTurn());
  }
}

/** Every promise's outcome, or undefined if they have not all settled by `deadline`. */
async function settledBefore(
  pending: Array<Promise<unknown>>,
  deadline: number,
): Promise<Array<PromiseSettledResult<unknown>> | undefined> {
  const timeout = new AbortController();
  try {
    return await Promise.race([
      Promise.allSettled(pending),
      sleep(Math.max(0, deadline - Date.now()), undefined, { signal: timeout.signal }),
    ]);
  } finally {
    timeout.abort();
  }
}

function countFailure(report: SendReport, error: unknown, messages = 1): void {
  report.failed += messages;
  const code = String((error as { code?: unknown } | null)?.code ?? (error as Error | null)?.name ?? 'unknown');
  report.errors[code] = (report.errors[code] ?? 0) + messages;
}

const DRAIN_POLL_MS = 10;
/** A saturated loop lets I/O run at least this often (in sends), whatever its window. */
const YIELD_EVERY = 1000;

/** Keeps at most `size` sends outstanding; with size 1 every send is awaited before the next. */
class Window {
  private outstanding = 0;
  private wake: (() => void) | undefined;

  constructor(
    private readonly size: number,
    private readonly report: SendReport,
    private readonly completion: LatencyHistogram | undefined,
  ) {}

  async send(sender: Sender, message: ReturnType<MessageFactory['next']>): Promise<void> {
    const started = this.completion === undefined ? 0 : nowUs();
    if (this.size === 1) {
      try {
        await sender.send(message);
        this.report.sent++;
      } catch (error) {
        countFailure(this.report, error);
      }
      this.completion?.record(nowUs() - started);
      return;
    }
    this.outstanding++;
    sender.send(message).then(
      () => this.settle(true, started),
      (error: unknown) => {
        countFailure(this.report, error);
        this.settle(false, started);
      },
    );
    if (this.outstanding >= this.size) {
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  /** `sender.sendBatch(messages)`, awaited: one call outstanding at a time. */
  async sendBatch(sender: Sender, messages: Array<ReturnType<MessageFactory['next']>>): Promise<void> {
    const started = nowUs();
    try {
      await sender.sendBatch!(messages);
      this.report.sent += messages.length;
    } catch (error) {
      countFailure(this.report, error, messages.length);
    }
    this.completion?.record(nowUs() - started, messages.length);
  }

  /** Waits for every outstanding send, at most until `deadline` (ms since the epoch). */
  async drain(deadline: number): Promise<void> {
    while (this.outstanding > 0 && Date.now() < deadline) {
      await Promise.race([new Promise<void>((resolve) => (this.wake = resolve)), sleep(DRAIN_POLL_MS)]);
    }
  }

  private settle(sent: boolean, started: number): void {
    this.completion?.record(nowUs() - started);
    if (sent) {
      this.report.sent++;
    }
    this.outstanding--;
    // Wake the loop once half the window is free, so it resumes with room for a batch.
    if (this.wake !== undefined && (this.outstanding <= this.size / 2 || this.outstanding === 0)) {
      const wake = this.wake;
      this.wake = undefined;
      wake();
    }
  }
}
