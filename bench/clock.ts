import { readFileSync } from 'node:fs';

/** Microseconds of CLOCK_MONOTONIC: comparable across the processes of one machine. */
export function nowUs(): number {
  const [seconds, nanoseconds] = process.hrtime();
  return seconds * 1e6 + nanoseconds / 1e3;
}

/**
 * The process's peak resident set size in bytes: the kernel's high-water mark (VmHWM) on Linux,
 * else the largest `rss` seen by `RssSampler`.
 */
export function peakRssBytes(sampled: number): number {
  const kernelPeak = kernelPeakRssBytes();
  return kernelPeak === undefined ? sampled : Math.max(kernelPeak, sampled);
}

/** The kernel's high-water mark of the process's RSS (VmHWM), on Linux. */
function kernelPeakRssBytes(): number | undefined {
  try {
    const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    return match === null ? undefined : Number(match[1]) * 1024;
  } catch {
    // Not Linux: the sampled peak is all there is.
    return undefined;
  }
}

/**
 * Samples `process.memoryUsage.rss()` on a timer that does not keep the process alive, where the
 * kernel keeps no peak: on Linux the timer would only wake the process (20 times a second) during
 * the phases it measures.
 */
export class RssSampler {
  private peak = process.memoryUsage.rss();
  private readonly timer: NodeJS.Timeout | undefined;

  constructor(intervalMs = 50) {
    this.timer = kernelPeakRssBytes() === undefined ? setInterval(() => this.sample(), intervalMs).unref() : undefined;
  }

  sample(): number {
    const rss = process.memoryUsage.rss();
    this.peak = Math.max(this.peak, rss);
    return rss;
  }

  get peakBytes(): number {
    return this.peak;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/** What a process spent over a stretch of time: CPU (all threads, user and system) and page faults. */
export interface ResourceUse {
  /** CPU time in µs. */
  cpuUs: number;
  /** Minor page faults: first touches of memory the process had not used yet (or had given back). */
  minorFaults: number;
}

function resourceUse(): ResourceUse {
  const usage = process.resourceUsage();
  return { cpuUs: usage.userCPUTime + usage.systemCPUTime, minorFaults: usage.minorPageFault };
}

/** Starts measuring this process's resource use; the function returned gives the use since. */
export function measureResourceUse(): () => ResourceUse {
  const start = resourceUse();
  return () => {
    const now = resourceUse();
    return { cpuUs: now.cpuUs - start.cpuUs, minorFaults: now.minorFaults - start.minorFaults };
  };
}
