import { readFileSync } from 'node:fs';

// Every type a public options, events, context or errors file declares is part of the API users
// write against: the index barrel must export it.
const PUBLIC_FILES = [
  'zeromq.socket.options.ts',
  'zeromq.server.options.ts',
  'zeromq.client.options.ts',
  'zeromq.curve.options.ts',
  'zeromq.outbox.options.ts',
  'zeromq.events.ts',
  'zeromq.context.ts',
  'zeromq.errors.ts',
];
const source = (file: string) => readFileSync(new URL(file, import.meta.url), 'utf8');

describe('the index barrel', () => {
  const index = source('index.ts');

  it.each(PUBLIC_FILES)('exports every type and class declared in %s', (file) => {
    const declared = [...source(file).matchAll(/^export (?:type|interface|enum|class) (\w+)/gm)].map((match) => match[1]);
    expect(declared.length).toBeGreaterThan(0);
    expect(declared.filter((name) => !new RegExp(`\\b${name}\\b`).test(index))).toEqual([]);
  });
});
