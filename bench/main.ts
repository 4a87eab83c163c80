/**
 * `npm run bench [-- options]`: nestjs-zeromq against raw zeromq.js and Nest's own transports,
 * all in one run, each row in its own producer and consumer processes over tcp loopback.
 * See docs/performance.md.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError, Option } from 'commander';
import { replaceDocSection } from './docs-section.js';
import { describeRun } from './meta.js';
import { FULL_PLAN, onlyPhases, QUICK_PLAN, scaledPlan, withLatencyWarmup, withNodeFlags, type PhaseKind } from './plan.js';
import { profileMarkdown, summarizeProfiles } from './profile.js';
import type { BenchReport } from './bench-report.js';
import { markdownReport, throughputChart } from './report.js';
import { BASELINE_ENV } from './drivers/baseline-release.js';
import { BASELINE_ROWS, BROADCAST_ROWS, findRow, ROWS, type RowDefinition } from './rows.js';
import { runRows, type RowResult } from './runner.js';
import { shareBenchCurveKeys } from './curve-keys.js';
import { Services } from './services.js';
import { runSoak } from './soak.js';
import { checkGuard, GUARD_ON_BY_DEFAULT, GUARDED_ROW, guardPassed, ratioSummary } from './guard.js';

// One CURVE key pair per side for the whole run, handed to the forked producer and consumer.
shareBenchCurveKeys();

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const RESULTS_DIR = join(ROOT, 'bench', 'results');
const DOC = join(ROOT, 'docs', 'performance.md');
const CHART = join(ROOT, 'docs', 'performance-throughput.svg');
/** The last full run: the guard's noise margins are measured between its rounds. */
const REFERENCE = join(RESULTS_DIR, 'latest.json');

interface CliOptions {
  quick: boolean;
  soak: boolean;
  rows?: string[];
  out?: string;
  docs: boolean;
  startServices: boolean;
  profile: boolean;
  profileDir: string;
  verbose: boolean;
  scale?: number;
  repeats?: number;
  only?: PhaseKind;
  latencyWarmup?: number;
  nodeFlags?: string;
  /** Also measure the build NESTJS_ZEROMQ_BASELINE names. */
  baseline: boolean;
  /** Undefined unless `--guard` or `--no-guard` was given. */
  guard?: boolean;
}

function positive(value: string): number {
  const number = Number(value);
  if (!(number > 0)) {
    throw new InvalidArgumentError('expected a positive number');
  }
  return number;
}

const program = new Command()
  .name('npm run bench --')
  .description('Throughput, latency and memory of nestjs-zeromq next to raw zeromq.js and Nest TCP/Redis/NATS, in one run.')
  .option('--quick', 'small counts: checks that every row runs (CI); results go to a .tmp file', false)
  .option(
    '--soak',
    'long-run memory checks instead of the table: worker RSS over 1,000,000 messages, producer with the worker down or frozen',
    false,
  )
  .addOption(
    new Option('--rows <ids>', `comma-separated rows (${[...ROWS, ...BROADCAST_ROWS].map((row) => row.id).join(', ')})`).argParser(
      (value) => value.split(','),
    ),
  )
  .addOption(
    new Option(
      '--scale <factor>',
      'multiply every count and paced time of the plan by this (a check at reduced counts; does not touch the docs)',
    ).argParser(positive),
  )
  .addOption(new Option('--repeats <n>', "runs per measurement (median reported) instead of the plan's").argParser(positive))
  .addOption(
    new Option('--only <kind>', 'measure only the throughput or only the latency phases (not a run to publish)').choices([
      'throughput',
      'latency',
    ]),
  )
  .addOption(
    new Option(
      '--latency-warmup <seconds>',
      "paced warm-up before each latency phase instead of the plan's (not a run to publish)",
    ).argParser(positive),
  )
  .option(
    '--node-flags <flags>',
    'Node.js flags for every process of every row, e.g. "--max-semi-space-size=32 --v8-pool-size=2" (a tuned-Node comparison, not a run to publish)',
  )
  .option(
    '--out <file>',
    'JSON results file (default bench/results/latest.json; --quick: bench/results/quick.json.tmp; --scale/--repeats/--only/--latency-warmup: bench/results/scaled.json.tmp)',
  )
  .option('--no-docs', 'do not update docs/performance.md and its chart (a full run of all rows does by default)')
  .option(
    '--no-start-services',
    'use only Redis/NATS servers already answering on 127.0.0.1:6379/4222 (default: start redis-server/nats-server on a free port when installed)',
  )
  .option('--profile', "run nestjs-zeromq's producer and consumer under node --cpu-prof and summarize the hot functions", false)
  .option('--profile-dir <dir>', 'where --profile writes .cpuprofile files', join(RESULTS_DIR, 'profiles'))
  .option('--verbose', "echo the child processes' output", false)
  .option(
    '--guard',
    `fail the run when a speed target of the issues (bench/guard-targets.ts), less its measured noise, is missed or cannot be checked (default: ${GUARD_ON_BY_DEFAULT ? 'on' : 'off'})`,
  )
  .option('--no-guard', 'do not check the guard (for local runs on a busy machine)')
  .option('--baseline', `also measure the earlier build that ${BASELINE_ENV} names (before/after rows in the same run)`, false)
  .parse();

const options = program.opts<CliOptions>();
const log = (line: string) => console.log(line);

async function main(): Promise<number> {
  if (options.soak) {
    return runSoak({
      quick: options.quick,
      resultsDir: RESULTS_DIR,
      doc: options.docs && !options.quick ? DOC : undefined,
      verbose: options.verbose,
      log,
    });
  }
  const basePlan = options.quick ? QUICK_PLAN : FULL_PLAN;
  let plan =
    options.scale === undefined && options.repeats === undefined ? basePlan : scaledPlan(basePlan, options.scale ?? 1, options.repeats);
  if (options.only !== undefined) {
    plan = onlyPhases(plan, options.only);
  }
  if (options.latencyWarmup !== undefined) {
    plan = withLatencyWarmup(plan, options.latencyWarmup);
  }
  if (options.nodeFlags !== undefined) {
    plan = withNodeFlags(plan, options.nodeFlags);
  }
  const publishable = plan.scale === undefined && plan.partial === undefined;
  if (options.baseline && process.env[BASELINE_ENV] === undefined) {
    throw new Error(`--baseline needs ${BASELINE_ENV}: the dist folder of the build to compare with`);
  }
  const rows: RowDefinition[] = options.rows?.map(findRow) ?? [...ROWS, ...BROADCAST_ROWS, ...(options.baseline ? BASELINE_ROWS : [])];
  const profiled = (row: RowDefinition) => options.profile && row.id.startsWith('nestjs-zeromq');
  if (options.profile) {
    mkdirSync(options.profileDir, { recursive: true });
    for (const file of readdirSync(options.profileDir).filter((name) => name.endsWith('.cpuprofile'))) {
      rmSync(join(options.profileDir, file));
    }
  }

  // Read before the run: a full run replaces it.
  const reference = existsSync(REFERENCE) ? (JSON.parse(readFileSync(REFERENCE, 'utf8')) as BenchReport) : undefined;
  const startedAt = Date.now();
  const loadBefore = loadavg();
  log(
    `nestjs-zeromq bench, ${plan.mode} mode${plan.scale === undefined ? '' : ` scaled ×${plan.scale}, ${plan.repeats} run(s)`}${plan.partial === undefined ? '' : ` (${plan.partial})`}; load average ${loadBefore.map((value) => value.toFixed(2)).join(' ')}`,
  );
  const services = new Services(options.startServices);
  const stop = () => void services.stopAll().finally(() => process.exit(130));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);

  let results: RowResult[];
  try {
    results = await runRows(rows, {
      plan,
      services,
      verbose: options.verbose,
      log,
      execArgv: (candidate, role) =>
        profiled(candidate)
          ? ['--cpu-prof', '--cpu-prof-dir', options.profileDir, '--cpu-prof-name', `${candidate.id}-${role}.cpuprofile`]
          : [],
    });
  } finally {
    await services.stopAll();
  }

  const report: BenchReport = { meta: describeRun(ROOT, plan, startedAt, loadBefore), rows: results };
  if (options.profile) {
    report.profiles = summarizeProfiles(options.profileDir);
  }
  const out = options.out ?? join(RESULTS_DIR, options.quick ? 'quick.json.tmp' : publishable ? 'latest.json' : 'scaled.json.tmp');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);

  const updateDocs = options.docs && !options.quick && options.rows === undefined && publishable;
  const markdown = markdownReport(report, updateDocs ? relative(dirname(DOC), CHART) : undefined);
  log(`\n${markdown}\n`);
  for (const summary of report.profiles ?? []) {
    log(`${profileMarkdown(summary)}\n`);
  }
  writeFileSync(out.replace(/\.json(\.tmp)?$/, '.md$1'), `${markdown}\n`);
  log(`JSON: ${relative(process.cwd(), out)} (markdown beside it)`);
  if (updateDocs) {
    writeFileSync(CHART, throughputChart(report));
    replaceDocSection(DOC, 'bench:results', markdown);
    log(`Updated ${relative(process.cwd(), DOC)} and ${relative(process.cwd(), CHART)}`);
  }

  if (results.some((row) => row.id === GUARDED_ROW)) {
    log(`Ratios of ${GUARDED_ROW} in this run:\n\n${ratioSummary(report)}\n`);
  }
  const guard = checkGuard(report, reference);
  const guarded = options.guard ?? GUARD_ON_BY_DEFAULT;
  const passed = guardPassed(guard);
  log(`Guard ${guarded ? 'on' : 'off (--guard turns it on)'}: ${passed ? 'passed' : guarded ? 'FAILED' : 'would fail'}`);
  for (const outcome of guard) {
    log(`  ${outcome.detail}`);
  }

  const failed = results.filter((row) => row.status === 'failed');
  for (const row of failed) {
    console.error(`FAILED: ${row.label}: ${row.note}`);
  }
  return failed.length > 0 || (guarded && !passed) ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
