import { readFileSync } from 'node:fs';

/** The version in this package's package.json (two folders up from both src/cli and dist/cli). */
export function packageVersion(): string {
  const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  if (typeof manifest.version !== 'string') {
    throw new Error('nestjs-zeromq: package.json has no version');
  }
  return manifest.version;
}
