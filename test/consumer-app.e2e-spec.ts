// The package as a user gets it: packed, installed into a fresh Nest 12 ESM app outside the
// repository, compiled with TypeScript 6 and 7 under `nest new`'s tsconfig (strict) and a loose one,
// then the README's quick-start worker and producer run as child processes over tcp, the
// package's testing helper runs under node's test runner, and the CLI runs through npx.
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import getPort from 'get-port';
import { AppProcess } from '../scripts/lib/app-process.js';
import { childApps, expectCleanExit } from './helpers/child-apps.js';

const REPO = join(import.meta.dirname, '..');
const LIBRARY = join(REPO, 'libs', 'nestjs-zeromq');
const FIXTURE = join(REPO, 'test', 'fixtures', 'consumer-app');
const { version: LIBRARY_VERSION } = JSON.parse(readFileSync(join(LIBRARY, 'package.json'), 'utf8')) as { version: string };
const STEP_TIMEOUT = 240_000;
/** npm failures that mean "no registry and not in the cache", the only reason to skip. */
const OFFLINE = /ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ETIMEDOUT|ENETUNREACH|ECONNRESET|ENOTCACHED|network/i;

/** Runs a command to its end; resolves with its output, rejects with the tail of it on failure. */
async function run(name: string, command: string, args: string[], cwd: string, env?: Record<string, string>): Promise<string> {
  const child = new AppProcess(name, command, args, { cwd, env });
  await expectCleanExit(child);
  return child.lines.map((line) => line.message).join('\n');
}

/**
 * Packs the library the way `npm publish` would (its prepack build) from a copy of its sources, so
 * that the library's own dist/, which other test files use meanwhile, is left alone.
 */
async function packLibrary(work: string): Promise<string> {
  const copy = join(work, 'source');
  const library = join(copy, 'libs', 'nestjs-zeromq');
  mkdirSync(library, { recursive: true });
  for (const entry of [
    'package.json',
    'tsconfig.lib.json',
    'tsconfig.pack.json',
    'README.md',
    'LICENSE',
    'CHANGELOG.md',
    'src',
    'scripts',
  ]) {
    cpSync(join(LIBRARY, entry), join(library, entry), { recursive: true });
  }
  cpSync(join(REPO, 'tsconfig.base.json'), join(copy, 'tsconfig.base.json'));
  // The guides, which the pack step copies into the package.
  cpSync(join(REPO, 'docs'), join(copy, 'docs'), { recursive: true, filter: (source) => !source.includes(join('docs', 'api')) });
  symlinkSync(join(REPO, 'node_modules'), join(copy, 'node_modules'));
  const path = `${join(REPO, 'node_modules', '.bin')}:${process.env.PATH ?? ''}`;
  await run('npm pack', 'npm', ['pack', '--pack-destination', work, '--loglevel', 'warn'], library, { PATH: path });
  return join(work, `nestjs-zeromq-${LIBRARY_VERSION}.tgz`);
}

/** The README's quick-start files (`src/x.ts` followed by a ts block), verbatim. */
function quickStartFiles(): Array<{ path: string; code: string }> {
  const readme = readFileSync(join(LIBRARY, 'README.md'), 'utf8');
  return [...readme.matchAll(/`(src\/[\w.-]+\.ts)`[^\n]*\n\n```ts\n([\s\S]*?)```/g)].map(([, path, code]) => ({ path, code }));
}

interface ConsumerApp {
  dir: string;
  tarball: string;
}

/** A temp app from the fixture plus the README's files, with the tarball installed; or why not. */
async function prepareApp(): Promise<ConsumerApp | { skipReason: string }> {
  const work = mkdtempSync(join(tmpdir(), 'nzmq-consumer-'));
  const tarball = await packLibrary(work);
  const dir = join(work, 'app');
  cpSync(FIXTURE, dir, { recursive: true });
  for (const { path, code } of quickStartFiles()) {
    writeFileSync(join(dir, path), code);
  }
  try {
    await run('npm install', 'npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel', 'error', tarball], dir);
  } catch (error) {
    const message = (error as Error).message;
    // In CI the registry is part of the job: a missing one fails the run instead of skipping the proof.
    if (OFFLINE.test(message) && process.env.CI !== 'true') {
      return { skipReason: `npm cannot install the app's dependencies (no registry, not in the cache): ${message.split('\n')[0]}` };
    }
    throw error;
  }
  return { dir, tarball };
}

const prepared = await prepareApp();
const app = 'skipReason' in prepared ? undefined : prepared;
if (app === undefined) {
  console.warn(`SKIPPING the consumer-app test: ${(prepared as { skipReason: string }).skipReason}`);
}
const withApp = app === undefined ? it.skip : it;

describe('nestjs-zeromq installed from its tarball into a fresh Nest 12 app', () => {
  const apps = childApps();
  afterAll(() => {
    if (app !== undefined) {
      rmSync(join(app.dir, '..'), { recursive: true, force: true });
    }
  });

  it('has the README quick start to test (worker, producer, controller)', () => {
    expect(quickStartFiles().map((file) => file.path)).toEqual(['src/orders.controller.ts', 'src/worker.ts', 'src/producer.ts']);
  });

  withApp('ships JS, type declarations, README, LICENSE and CHANGELOG; no source maps, no build info', async () => {
    const files = (await run('tar', 'tar', ['-tzf', app!.tarball], app!.dir)).split('\n').map((file) => file.replace(/^package\//, ''));
    expect(files).toEqual(
      expect.arrayContaining(['package.json', 'README.md', 'LICENSE', 'CHANGELOG.md', 'dist/index.js', 'dist/index.d.ts']),
    );
    expect(files).toEqual(expect.arrayContaining(['dist/testing/index.js', 'dist/testing/index.d.ts', 'dist/cli/main.js']));
    expect(files.filter((file) => /\.map$|tsbuildinfo|\.spec\.|(^|\/)src\//.test(file))).toEqual([]);
  });

  withApp("ships the guides, and the packed README's links to them resolve inside the package", async () => {
    const files = new Set(
      (await run('tar', 'tar', ['-tzf', app!.tarball], app!.dir)).split('\n').map((file) => file.replace(/^package\//, '')),
    );
    for (const guide of ['troubleshooting', 'delivery', 'topologies', 'observability', 'security', 'protocol', 'kubernetes']) {
      expect(files).toContain(`docs/${guide}.md`);
    }
    expect(files).toContain('docs/grafana-dashboard.json');
    const readme = await run('tar', 'tar', ['-xzOf', app!.tarball, 'package/README.md'], app!.dir);
    const links = [...readme.matchAll(/\]\((docs\/[^)#]+)/g)].map((match) => match[1]);
    expect(links.length).toBeGreaterThan(5);
    expect(links.filter((link) => !files.has(link))).toEqual([]);
    expect(readme).not.toContain('../../docs/');
    // After packing, the packed copy's README is the repository's again (links GitHub resolves), and no docs/ copy is left.
    const packed = join(app!.dir, '..', 'source', 'libs', 'nestjs-zeromq');
    expect(readFileSync(join(packed, 'README.md'), 'utf8')).toContain('](../../docs/troubleshooting.md)');
    expect(existsSync(join(packed, 'docs'))).toBe(false);
  });

  describe.each([
    ['TypeScript 6', 'typescript'],
    ['TypeScript 7', 'typescript7'],
  ])('%s', (_, compiler) => {
    withApp.each([
      ["nest new's tsconfig (strict)", 'tsconfig.json'],
      ['a loose tsconfig (strict: false)', 'tsconfig.loose.json'],
    ])(
      'compiles the app with no error under %s',
      async (__, tsconfig) => {
        const args = [`node_modules/${compiler}/bin/tsc`, '-p', tsconfig, '--noEmit', '--incremental', 'false'];
        await run(`tsc ${compiler} ${tsconfig}`, process.execPath, args, app!.dir);
      },
      STEP_TIMEOUT,
    );
  });

  withApp(
    'runs the quick-start worker and producers over tcp: emit, send, @Payload and @Ctx, status after connect()',
    async () => {
      await run('tsc build', process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json'], app!.dir);
      const env = { ORDERS_ENDPOINT: `tcp://127.0.0.1:${await getPort({ host: '127.0.0.1' })}` };
      const worker = apps.command('worker', process.execPath, ['dist/worker.js'], { cwd: app!.dir, env });
      await worker.waitFor((line) => line.message.startsWith('worker listening on'), 30_000, "the worker's ready line");

      const producer = apps.command('producer', process.execPath, ['dist/producer.js'], { cwd: app!.dir, env });
      await expectCleanExit(producer);
      expect(producer.matching((line) => line.message === 'sum of totals: 55')).toHaveLength(1);

      const probe = apps.command('producer-async', process.execPath, ['dist/producer-async.js'], { cwd: app!.dir, env });
      await expectCleanExit(probe);
      const report = JSON.parse(probe.matching((line) => line.message.startsWith('{'))[0].message) as unknown;
      expect(report).toEqual({ status: 'connected', connections: { default: 1 }, sum: 155 });

      await expectCleanExit(worker, worker.stop('SIGTERM'));
      const handled = worker.matching((line) => /^orders\.created \S+ on socket default$/.test(line.message));
      expect(handled).toHaveLength(11);
    },
    STEP_TIMEOUT,
  );

  withApp(
    "runs a test of the app's handlers written with nestjs-zeromq/testing",
    async () => {
      if (!existsSync(join(app!.dir, 'dist', 'orders.e2e.js'))) {
        await run('tsc build', process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json'], app!.dir);
      }
      const output = await run('node --test', process.execPath, ['--test', '--test-reporter=tap', 'dist/orders.e2e.js'], app!.dir);
      expect(output).toMatch(/^# pass 1$/m);
    },
    STEP_TIMEOUT,
  );

  withApp(
    'runs the CLI through npx: --version and keygen',
    async () => {
      expect((await run('npx --version', 'npx', ['--no-install', 'nestjs-zeromq', '--version'], app!.dir)).trim()).toBe(LIBRARY_VERSION);
      await run('npx keygen', 'npx', ['--no-install', 'nestjs-zeromq', 'keygen', '--out', 'keys/worker'], app!.dir);
      expect(readFileSync(join(app!.dir, 'keys', 'worker.pub'), 'utf8')).toMatch(/^[0-9a-zA-Z.\-:+=^!/*?&<>()[\]{}@%$#]{40}$/m);
    },
    STEP_TIMEOUT,
  );
});
