import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { markdownTable } from 'markdown-table';

/** The parts of a V8 .cpuprofile (written by `node --cpu-prof`) this summary reads. */
interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number } }>;
  samples: number[];
  timeDeltas: number[];
}

export interface SelfTime {
  name: string;
  ms: number;
  /** Share of the busy (non-idle) time. */
  percent: number;
}

export interface ProfileSummary {
  file: string;
  busyMs: number;
  idleMs: number;
  /** Self time by package or area (the library, zeromq, @nestjs/*, rxjs, node, GC...). */
  byArea: SelfTime[];
  /** Functions with the most self time. */
  top: SelfTime[];
}

const IDLE = '(idle)';

function area(url: string, functionName: string): string {
  if (functionName === '(garbage collector)' || functionName === '(program)') {
    return functionName;
  }
  if (url === '') {
    return '(native / builtins)';
  }
  if (url.startsWith('node:')) {
    return 'node core';
  }
  const library = /libs\/nestjs-zeromq\//.exec(url);
  if (library !== null) {
    return 'nestjs-zeromq (library)';
  }
  const inPackage = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (inPackage !== null) {
    return inPackage[1];
  }
  return /\/bench\//.test(url) ? 'bench harness' : url;
}

function location(url: string, lineNumber: number): string {
  const short = url
    .replace(/^file:\/\//, '')
    .replace(/^.*?\/node_modules\//, '')
    .replace(/^.*?\/(libs|dist)\//, '$1/');
  return short === '' ? '' : `${short}:${lineNumber + 1}`;
}

/** Self time per function and per area of one profile. */
export function summarizeProfile(path: string, topCount = 15): ProfileSummary {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const nodes = new Map(profile.nodes.map((node) => [node.id, node.callFrame]));
  const byFunction = new Map<string, number>();
  const byArea = new Map<string, number>();
  let idle = 0;
  let busy = 0;
  for (let index = 0; index + 1 < profile.samples.length; index++) {
    const frame = nodes.get(profile.samples[index])!;
    const micros = profile.timeDeltas[index + 1];
    if (frame.functionName === IDLE) {
      idle += micros;
      continue;
    }
    busy += micros;
    const where = location(frame.url, frame.lineNumber);
    const name = `${frame.functionName || '(anonymous)'}${where === '' ? '' : ` ${where}`}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + micros);
    const group = area(frame.url, frame.functionName);
    byArea.set(group, (byArea.get(group) ?? 0) + micros);
  }
  const rank = (entries: Map<string, number>, count: number): SelfTime[] =>
    [...entries]
      .sort((a, b) => b[1] - a[1])
      .slice(0, count)
      .map(([name, micros]) => ({ name, ms: micros / 1000, percent: (micros / Math.max(1, busy)) * 100 }));
  return { file: basename(path), busyMs: busy / 1000, idleMs: idle / 1000, byArea: rank(byArea, 12), top: rank(byFunction, topCount) };
}

export function summarizeProfiles(dir: string): ProfileSummary[] {
  return readdirSync(dir)
    .filter((file) => file.endsWith('.cpuprofile'))
    .sort()
    .map((file) => summarizeProfile(join(dir, file)));
}

export function profileMarkdown(summary: ProfileSummary): string {
  const table = (entries: SelfTime[], title: string) =>
    markdownTable(
      [[title, 'self ms', '% of busy'], ...entries.map((entry) => [entry.name, entry.ms.toFixed(0), entry.percent.toFixed(1)])],
      {
        align: ['l', 'r', 'r'],
      },
    );
  return [
    `### ${summary.file}: ${summary.busyMs.toFixed(0)} ms busy, ${summary.idleMs.toFixed(0)} ms idle`,
    '',
    table(summary.byArea, 'area'),
    '',
    table(summary.top, 'function (self time)'),
  ].join('\n');
}
