// Puts the repository's guides into the package (npm pack / publish: prepack runs `prepare`,
// postpack runs `restore`). In the repository the library's README links to `../../docs/x.md`, which
// GitHub resolves; in the package the guides are `docs/x.md`, so the packed README links there. A
// guide's link out of docs/ (an example, a bench file) becomes plain text naming the repository path.
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const LIBRARY = join(dirname(fileURLToPath(import.meta.url)), '..');
const SOURCE = join(LIBRARY, '..', '..', 'docs');
const TARGET = join(LIBRARY, 'docs');
const README = join(LIBRARY, 'README.md');
const REPOSITORY_README = join(LIBRARY, 'README.repository.md');
/** What a guide is made of: text, its images, the Grafana dashboard. */
const SHIPPED = /\.(md|png|svg|json)$/;

function prepare() {
  if (!existsSync(SOURCE)) {
    throw new Error(`No guides at ${SOURCE}: pack from the repository (or a copy holding docs/ two levels up)`);
  }
  restore();
  mkdirSync(TARGET);
  for (const name of readdirSync(SOURCE).filter((entry) => SHIPPED.test(entry))) {
    if (name.endsWith('.md')) {
      writeFileSync(join(TARGET, name), linksLeavingDocsAsText(readFileSync(join(SOURCE, name), 'utf8')));
    } else {
      cpSync(join(SOURCE, name), join(TARGET, name));
    }
  }
  renameSync(README, REPOSITORY_README);
  writeFileSync(README, readFileSync(REPOSITORY_README, 'utf8').replaceAll('](../../docs/', '](docs/'));
}

function restore() {
  if (existsSync(REPOSITORY_README)) {
    renameSync(REPOSITORY_README, README);
  }
  rmSync(TARGET, { recursive: true, force: true });
}

/** `[text](../examples/x.py)` → `text (in the repository: examples/x.py)`: the package has no such file. */
function linksLeavingDocsAsText(markdown) {
  return markdown.replace(/\[([^\]]+)\]\(\.\.\/([^)]+)\)/g, '$1 (in the repository: `$2`)');
}

const step = process.argv[2];
if (step === 'prepare') {
  prepare();
} else if (step === 'restore') {
  restore();
} else {
  throw new Error('usage: node scripts/pack-docs.mjs prepare|restore');
}
