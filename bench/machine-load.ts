import { cpus } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';

/** Below this many busy cores the machine counts as quiet between two rows. */
const QUIET_CORES = 0.25;
/** How long one look at the machine's load lasts, ms (the kernel counts CPU time in 10 ms ticks). */
const SAMPLE_MS = 200;
/** How long `settle` waits for quiet at most, ms: on a shared machine it may never come. */
const SETTLE_MAX_MS = 3_000;

/** CPU time of the whole machine, all cores, in µs: busy (not idle) and in all. */
function machineTimes(): { busyUs: number; totalUs: number } {
  let busy = 0;
  let total = 0;
  for (const { times } of cpus()) {
    const sum = times.user + times.nice + times.sys + times.idle + times.irq;
    busy += sum - times.idle;
    total += sum;
  }
  return { busyUs: busy * 1000, totalUs: total * 1000 };
}

/** What the machine did over a stretch of time. */
export interface MachineUse {
  /** Busy CPU time of every process on the machine, µs. */
  busyUs: number;
  /** Wall time, µs. */
  wallUs: number;
}

/** Starts measuring the machine's CPU use; the function returned gives the use since. */
export function measureMachineUse(): () => MachineUse {
  const start = machineTimes();
  const cores = cpus().length;
  return () => {
    const now = machineTimes();
    return { busyUs: now.busyUs - start.busyUs, wallUs: (now.totalUs - start.totalUs) / cores };
  };
}

/** Cores busy on average over `use`. */
export function busyCores(use: MachineUse): number {
  return use.wallUs <= 0 ? 0 : use.busyUs / use.wallUs;
}

/**
 * Waits until the machine is quiet (fewer than `QUIET_CORES` busy over `SAMPLE_MS`), at most
 * `SETTLE_MAX_MS`: after a row's processes exited, what they left behind (the kernel freeing
 * their memory, sockets closing) should not land in the next row's phases. Resolves with the busy
 * cores of the last look, so that a run on a busy machine says so.
 */
export async function settle(): Promise<{ quiet: boolean; busyCores: number }> {
  const deadline = Date.now() + SETTLE_MAX_MS;
  for (;;) {
    const used = measureMachineUse();
    await sleep(SAMPLE_MS);
    const busy = busyCores(used());
    if (busy < QUIET_CORES || Date.now() >= deadline) {
      return { quiet: busy < QUIET_CORES, busyCores: busy };
    }
  }
}
