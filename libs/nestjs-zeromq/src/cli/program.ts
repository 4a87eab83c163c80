import { Command } from 'commander';
import { writeKeyPair } from './keygen.js';
import { packageVersion } from './package-version.js';

/** Where the CLI prints; tests capture it. */
export interface CliOutput {
  log: (line: string) => void;
}

/** The `nestjs-zeromq` command line. */
export function createProgram(output: CliOutput = { log: (line) => console.log(line) }): Command {
  const program = new Command('nestjs-zeromq')
    .description('Tools for the nestjs-zeromq transport')
    .version(packageVersion(), '-V, --version', 'print the nestjs-zeromq version');
  program
    .command('keygen')
    .description('Write a new CURVE key pair: <out>.key (secret, mode 0600) and <out>.pub (public)')
    .requiredOption('-o, --out <path>', 'path of the two files without extension, e.g. keys/worker')
    .option('-f, --force', 'replace existing files', false)
    .action((options: { out: string; force: boolean }) => {
      const pair = writeKeyPair(options.out, { force: options.force });
      output.log(`Secret key: ${pair.secretKeyFile} (mode 0600; never share it)`);
      output.log(`Public key: ${pair.publicKeyFile}`);
      output.log(pair.publicKey);
    });
  return program;
}
