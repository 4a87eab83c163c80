import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createProgram } from './program.js';
import { publicKeyOf } from '../internal/security/curve-keys.js';

const keyIn = (path: string) =>
  readFileSync(path, 'utf8')
    .split('\n')
    .find((line) => line.length > 0 && !line.startsWith('#'))!;

describe('nestjs-zeromq keygen', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nzmq-keygen-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const run = async (...args: string[]) => {
    const lines: string[] = [];
    const program = createProgram({ log: (line) => lines.push(line) }).exitOverride();
    // Commander's own message goes to stderr; the rejection carries it for the assertion.
    program.commands.forEach((command) => command.exitOverride().configureOutput({ writeErr: () => undefined }));
    await program.parseAsync(['keygen', ...args], { from: 'user' });
    return lines;
  };

  it('writes a matching key pair, the secret readable by its owner only', async () => {
    const out = join(dir, 'keys', 'worker');
    const lines = await run('--out', out);
    const secret = keyIn(`${out}.key`);
    const pub = keyIn(`${out}.pub`);
    expect(publicKeyOf(secret)).toBe(pub);
    expect(statSync(`${out}.key`).mode & 0o777).toBe(0o600);
    expect(statSync(`${out}.pub`).mode & 0o777).toBe(0o644);
    expect(statSync(join(dir, 'keys')).mode & 0o777).toBe(0o700);
    expect(lines).toEqual([`Secret key: ${out}.key (mode 0600; never share it)`, `Public key: ${out}.pub`, pub]);
  });

  it('refuses to replace a key pair unless --force, and a replaced secret gets mode 0600 again', async () => {
    const out = join(dir, 'producer');
    await run('-o', out);
    const first = keyIn(`${out}.key`);
    await expect(run('-o', out)).rejects.toThrow(`${out}.key exists; choose another --out or pass --force`);
    expect(keyIn(`${out}.key`)).toBe(first);
    chmodSync(`${out}.key`, 0o644);
    await run('-o', out, '--force');
    expect(keyIn(`${out}.key`)).not.toBe(first);
    expect(statSync(`${out}.key`).mode & 0o777).toBe(0o600);
  });

  it('requires --out', async () => {
    await expect(run()).rejects.toThrow("required option '-o, --out <path>' not specified");
  });
});
