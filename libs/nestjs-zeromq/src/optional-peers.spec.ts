import { readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = dirname(fileURLToPath(import.meta.url));
const OPTIONAL_PEERS = ['@nestjs/terminus', 'prom-client', '@opentelemetry/'];

/** Every package a source file imports, following relative imports from `entry` (static, and unless told not to, dynamic). */
function packagesReachedFrom(entry: string, { dynamic } = { dynamic: true }): Set<string> {
  const seen = new Set<string>();
  const packages = new Set<string>();
  const pending = [join(SRC, entry)];
  while (pending.length > 0) {
    const file = pending.pop()!;
    if (seen.has(file)) {
      continue;
    }
    seen.add(file);
    const source = readFileSync(file, 'utf8');
    const imports = /(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s*'([^']+)'|(?:^|\n)\s*import\s*'([^']+)'|import\(\s*'([^']+)'\s*\)/g;
    for (const match of source.matchAll(imports)) {
      if (match[3] !== undefined && !dynamic) {
        continue;
      }
      const specifier = match[1] ?? match[2] ?? match[3];
      if (specifier.startsWith('.')) {
        pending.push(normalize(join(dirname(file), specifier.replace(/\.js$/, '.ts'))));
      } else {
        packages.add(specifier);
      }
    }
  }
  return packages;
}

describe('optional peer dependencies', () => {
  it('the main entry point reaches none of them: a user who wants no integration installs none', () => {
    const reached = [...packagesReachedFrom('index.ts')];
    expect(reached).toContain('zeromq');
    expect(reached.filter((name) => OPTIONAL_PEERS.some((peer) => name.startsWith(peer)))).toEqual([]);
  });

  it('lmdb (durable outbox and ledger) is imported only dynamically, when a store is opened: a user without it compiles and runs', () => {
    for (const entry of ['index.ts', 'cli/main.ts']) {
      expect([...packagesReachedFrom(entry)]).toContain('lmdb');
      expect([...packagesReachedFrom(entry, { dynamic: false })]).not.toContain('lmdb');
    }
    const manifest = JSON.parse(readFileSync(join(SRC, '..', 'package.json'), 'utf8')) as {
      peerDependencies: Record<string, string>;
      peerDependenciesMeta: Record<string, { optional?: boolean }>;
      dependencies: Record<string, string>;
    };
    expect(manifest.peerDependencies.lmdb).toBeDefined();
    expect(manifest.peerDependenciesMeta.lmdb).toEqual({ optional: true });
    expect(manifest.dependencies.lmdb).toBeUndefined();
  });

  it.each([
    ['health/index.ts', '@nestjs/terminus'],
    ['metrics/index.ts', 'prom-client'],
    ['tracing/index.ts', '@opentelemetry/api'],
  ])('%s is where %s comes in, and only it', (entry, peer) => {
    const optional = [...packagesReachedFrom(entry)].filter((name) => OPTIONAL_PEERS.some((prefix) => name.startsWith(prefix)));
    expect(optional).toEqual([peer]);
  });
});
