import { readFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem, type } from 'node:os';
import { join } from 'node:path';
import * as zmq from 'zeromq';
import type { BenchPlan } from './plan.js';
import type { RunMeta } from './bench-report.js';

function packageVersion(root: string, name: string): string {
  try {
    return (JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** What the figures were measured on; `load` is filled in before and after the run. */
export function describeRun(root: string, plan: BenchPlan, startedAt: number, loadBefore: number[]): RunMeta {
  return {
    date: new Date(startedAt).toISOString().slice(0, 16).replace('T', ' ') + ' UTC',
    mode: plan.mode,
    durationSeconds: (Date.now() - startedAt) / 1000,
    machine: {
      cpu: cpus()[0]?.model.trim() ?? 'unknown CPU',
      cores: cpus().length,
      memoryGiB: Math.round(totalmem() / 1024 ** 3),
      os: `${type()} ${release()}`,
    },
    versions: {
      node: process.versions.node,
      'zeromq.js': packageVersion(root, 'zeromq'),
      libzmq: zmq.version,
      '@nestjs/microservices': packageVersion(root, '@nestjs/microservices'),
    },
    load: { before: loadBefore, after: loadavg() },
    plan,
  };
}
