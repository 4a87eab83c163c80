import { Command } from 'commander';
import { writeKeyPair } from './keygen.js';
import { addOutboxCommands } from './outbox.js';
import { packageVersion } from './package-version.js';
import { runProxy, type ProxyCommandOptions } from './proxy.js';

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
  program
    .command('proxy')
    .description('Forward broadcasts from many publishers to many subscribers (XSUB/XPUB) until SIGINT or SIGTERM')
    .requiredOption('--frontend <address...>', 'address(es) to bind for publishers, e.g. tcp://0.0.0.0:5560')
    .requiredOption('--backend <address...>', 'address(es) to bind for subscribers, e.g. tcp://0.0.0.0:5561')
    .option('--secret-key-file <path>', "CURVE: the proxy's secret key file (mode 0600); turns CURVE on for both sides")
    .option(
      '--subscriber-public-key <key-or-file>',
      "CURVE: the subscribers' shared public key (Z85 text or a file); they are CURVE servers",
    )
    .option('--allow-subscriber <key-or-file...>', 'CURVE: public keys of the subscribers allowed in (instead of --subscriber-public-key)')
    .option('--allow-publisher <key-or-file...>', 'CURVE: public keys of the publishers allowed in (default: any with the proxy key)')
    .option('--max-message-size <bytes>', 'largest frame a publisher may send (default 8 MiB); a larger one resets its connection')
    .option('--connection-budget <bytes>', "bytes queued per connection (default 64 MiB): sets the high-water mark's default")
    .option(
      '--high-water-mark <messages>',
      'messages queued per subscriber before the proxy drops for it (default: budget / max message size)',
    )
    .action((options: ProxyCommandOptions) => runProxy(options, (line) => output.log(line)));
  addOutboxCommands(program, (line) => output.log(line));
  return program;
}
