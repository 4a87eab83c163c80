// @ts-check
/**
 * CI's mutation step for the targets whose published run is committed as a baseline
 * (`mutation/<target>.incremental.json`: Stryker's incremental report of the run docs/mutation.md
 * publishes). A target whose mutated files, specs and definition are still the baseline's is
 * skipped; one that changed runs again with `--incremental` from its baseline (only the mutants
 * whose code or covering tests changed), and fails below its `break`. A spec added since its run is
 * not seen here: it can only kill more mutants.
 *
 *   node scripts/mutation-changed.mjs [seconds]   # time allowed for all re-runs (default 480)
 *   node scripts/mutation-changed.mjs --status    # only says which targets changed (npm run mutation:status)
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BASELINES = 'mutation';
const statusOnly = process.argv[2] === '--status';
const deadline = statusOnly ? Date.now() : Date.now() + Number(process.argv[2] ?? 480) * 1000;

/** How to re-run a target by hand and publish it: its new baseline is written in place. */
const publishCommand = (target, file) =>
  `STRYKER_TARGET=${target} npm run mutation -- --incremental --incrementalFile ${BASELINES}/${file}`;

/** The target's definition as stryker.config.mjs gives it now (it reads STRYKER_TARGET). */
async function definitionOf(target) {
  process.env.STRYKER_TARGET = target;
  const { default: config } = await import(`../stryker.config.mjs?target=${target}`);
  return { mutate: config.mutate, testMatch: config.jest.config.testMatch };
}

/** What differs from the baseline: its files' content, or the target's mutate or test patterns. */
function changesOf(baseline, definition) {
  const changed = Object.entries({ ...baseline.testFiles, ...baseline.files })
    .filter(([path, { source }]) => !existsSync(path) || readFileSync(path, 'utf8') !== source)
    .map(([path]) => path);
  if (JSON.stringify(baseline.config.mutate) !== JSON.stringify(definition.mutate)) {
    changed.push('its mutate patterns');
  }
  if (JSON.stringify(baseline.config.jest.config.testMatch) !== JSON.stringify(definition.testMatch)) {
    changed.push('its specs');
  }
  return changed;
}

let failed = false;
for (const file of readdirSync(BASELINES).filter((name) => name.endsWith('.incremental.json'))) {
  const target = file.replace(/\.incremental\.json$/, '');
  const baseline = JSON.parse(readFileSync(join(BASELINES, file), 'utf8'));
  const changed = changesOf(baseline, await definitionOf(target));
  if (changed.length === 0) {
    console.log(`${target}: unchanged since its published run (${BASELINES}/${file})`);
    continue;
  }
  if (statusOnly) {
    console.log(
      `${target}: changed since its published run (${changed.join(', ')}): CI will re-run what changed; ` +
        `to publish it: ${publishCommand(target, file)}`,
    );
    continue;
  }
  console.log(`${target}: changed since its published run (${changed.join(', ')}): re-running what changed`);
  const left = Math.floor((deadline - Date.now()) / 1000);
  // A copy: the committed baseline changes only when its new run is published by hand.
  const copy = join(mkdtempSync(join(tmpdir(), 'mutation-')), file);
  copyFileSync(join(BASELINES, file), copy);
  const run = spawnSync(
    'timeout',
    ['--kill-after=30', String(Math.max(1, left)), 'npx', 'stryker', 'run', '--incremental', '--incrementalFile', copy],
    {
      stdio: 'inherit',
      env: { ...process.env, STRYKER_TARGET: target },
    },
  );
  if (run.status !== 0) {
    failed = true;
    console.error(
      `${target}: ${run.status === 124 ? `not done within the time left (${left} s)` : 'below its break, or the run failed'}. ` +
        `Run it by hand (${publishCommand(target, file)}), ` +
        `publish its scores in docs/mutation.md and commit the new baseline.`,
    );
  }
}
process.exit(failed ? 1 : 0);
