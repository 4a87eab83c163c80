import { readFileSync, writeFileSync } from 'node:fs';

/** Replaces the generated section of a markdown page: the text between `<!-- NAME:start -->` and `<!-- NAME:end -->`. */
export function replaceDocSection(path: string, name: string, markdown: string): void {
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const text = readFileSync(path, 'utf8');
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  if (from < 0 || to < from) {
    throw new Error(`${path} lacks the ${start} / ${end} markers`);
  }
  writeFileSync(path, `${text.slice(0, from + start.length)}\n${markdown}\n${text.slice(to)}`);
}
