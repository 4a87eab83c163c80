import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';

/**
 * docs/guarantees.md maps each documented guarantee to the test that proves it. This keeps the
 * map true: every test file it names exists, and every test title it quotes is in that file, so
 * a renamed or deleted test cannot leave a guarantee pointing at nothing.
 */
const DOC = 'docs/guarantees.md';
const SOURCE_ROOTS = ['libs', 'apps', 'test', 'bench'];

/** `lib/x.spec.ts` is the library's source; a bare file name is found wherever it is unique. */
function resolveTestFile(name: string, specs: string[]): string | undefined {
  if (name.startsWith('lib/')) {
    return join('libs/nestjs-zeromq/src', name.slice('lib/'.length));
  }
  if (name.includes('/')) {
    return name;
  }
  const found = specs.filter((path) => basename(path) === name);
  return found.length === 1 ? found[0] : undefined;
}

function specFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      return entry.name === 'node_modules' || entry.name === 'dist' ? [] : specFiles(path);
    }
    return /\.(e2e-)?spec\.ts$/.test(entry.name) ? [path] : [];
  });
}

interface Reference {
  line: number;
  file: string;
  title?: string;
}

/**
 * The references of the tables' test column, in order: a file in backticks, then the titles quoted
 * after it. Every row names its file before its first title.
 */
function referencesOf(markdown: string): Reference[] {
  const references: Reference[] = [];
  markdown.split('\n').forEach((text, index) => {
    let file: string | undefined;
    const cells = text.split(' | ');
    if (!text.startsWith('| ') || cells.length < 2 || /^\|\s*(guarantee|---)/.test(text)) {
      return;
    }
    const column = cells.at(-1)!;
    for (const match of column.matchAll(/`([^`]+\.(?:e2e-)?spec\.ts)`|"((?:[^"\\]|\\.)+)"/g)) {
      if (match[1] !== undefined) {
        file = match[1];
        references.push({ line: index + 1, file });
      } else if (file !== undefined) {
        references.push({ line: index + 1, file, title: match[2].replace(/\\"/g, '"') });
      } else {
        references.push({ line: index + 1, file: '(no file named before it)', title: match[2] });
      }
    }
  });
  return references;
}

describe(DOC, () => {
  const references = referencesOf(readFileSync(DOC, 'utf8'));
  const specs = SOURCE_ROOTS.flatMap(specFiles);

  it('names tests in every row of its tables', () => {
    expect(references.length).toBeGreaterThan(80);
    expect(references.filter((reference) => reference.title !== undefined).length).toBeGreaterThan(60);
  });

  it('names test files that exist, and quotes titles that are in them', () => {
    const missing = references.flatMap(({ line, file, title }) => {
      const path = resolveTestFile(file, specs);
      if (path === undefined || !existsSync(path)) {
        return [`${DOC}:${line}: no test file ${file}`];
      }
      return title === undefined || readFileSync(path, 'utf8').includes(title) ? [] : [`${DOC}:${line}: "${title}" is not in ${path}`];
    });
    expect(missing).toEqual([]);
  });
});
