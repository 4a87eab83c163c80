import type { ZeroMqServerSocketState } from '../../zeromq.metrics.js';
import type { Inbox } from './inbox.js';

/**
 * What a server's inboxes count, summed: their counters, the handlers they have in flight and
 * queued, and their receive budgets (bytes held, pauses, oversized messages).
 */
export function inboxTotals(inboxes: readonly Inbox[]): Record<string, number> {
  const totals: Record<string, number> = { inFlight: 0, queued: 0, heldBytes: 0, budgetPauses: 0, oversized: 0 };
  for (const inbox of inboxes) {
    for (const [name, value] of Object.entries(inbox.counters.snapshot())) {
      totals[name] = (totals[name] ?? 0) + value;
    }
    const { budget } = inbox.dispatcher;
    totals.inFlight += inbox.dispatcher.running;
    totals.queued += inbox.dispatcher.queued;
    totals.heldBytes += budget.held;
    totals.budgetPauses += budget.pauses;
    totals.oversized += budget.oversized;
  }
  return totals;
}

/** Per inbox whose socket is `open`: whether it reads, its handlers against `concurrency`, its bytes held against its receive budget. */
export function socketStates(inboxes: readonly Inbox[], open: Record<string, unknown>): Record<string, ZeroMqServerSocketState> {
  return Object.fromEntries(
    inboxes
      .filter((inbox) => inbox.name in open)
      .map((inbox) => [
        inbox.name,
        {
          reading: inbox.reading,
          inFlight: inbox.dispatcher.running,
          queued: inbox.dispatcher.queued,
          concurrency: inbox.dispatcher.concurrency,
          heldBytes: inbox.dispatcher.budget.held,
          receiveBudget: inbox.dispatcher.budget.limit,
        },
      ]),
  );
}
