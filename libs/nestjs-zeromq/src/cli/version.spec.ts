import { readFileSync } from 'node:fs';
import { createProgram } from './program.js';

describe('nestjs-zeromq --version', () => {
  it("prints the package's version", async () => {
    const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    let printed = '';
    const program = createProgram()
      .exitOverride()
      .configureOutput({ writeOut: (text) => (printed += text) });
    await expect(program.parseAsync(['--version'], { from: 'user' })).rejects.toMatchObject({ code: 'commander.version' });
    expect(version).toMatch(/^\d+\.\d+\.\d+/);
    expect(printed).toBe(`${version}\n`);
  });
});
