import type { Command } from 'commander';
import { inspectOutbox, purgeOutbox, requeueDeadLetters, withOutbox } from '../internal/at-least-once/outbox-admin.js';

/** Where the outbox commands print. */
type Log = (line: string) => void;

/** `nestjs-zeromq outbox inspect | requeue | purge <path>`: a durable outbox, without writing code. */
export function addOutboxCommands(program: Command, log: Log): void {
  const outbox = program
    .command('outbox')
    .description('Inspect or repair a durable outbox (stop its producer first: the outbox is locked while it runs)');
  outbox
    .command('inspect <path>')
    .description('Counts, bytes, oldest age, a few stored messages and dead letters, per route')
    .option('-n, --limit <count>', 'messages and dead letters shown per route', '5')
    .option('--json', 'print the report as JSON', false)
    .action((path: string, options: { limit: string; json: boolean }) =>
      withOutbox(path, (opened) => {
        const report = inspectOutbox(opened, Number.parseInt(options.limit, 10));
        if (options.json) {
          log(JSON.stringify(report, null, 2));
          return;
        }
        if (report.length === 0) {
          log(`${path}: empty (no route has stored anything)`);
        }
        for (const route of report) {
          const age = route.oldestAgeMs === undefined ? 'none' : `${Math.round(route.oldestAgeMs / 1000)} s`;
          log(
            `route "${route.route}": ${route.stored} stored (${route.storedBytes} bytes, oldest ${age}), ${route.deadLetters} dead letter(s)`,
          );
          for (const message of route.messages) {
            log(
              `  stored  ${message.messageId}  ${message.pattern}  attempt ${message.attempt}  ${Math.round(message.ageMs / 1000)} s old`,
            );
          }
          for (const letter of route.deadLetterSamples) {
            log(`  dead    ${letter.messageId}  ${letter.pattern}  after ${letter.attempts} attempt(s): ${letter.reason}`);
          }
        }
      }),
    );
  outbox
    .command('requeue <path>')
    .description('Move dead letters back into the outbox: the producer sends them again at its next start')
    .option('--route <name>', 'only this route')
    .action(async (path: string, options: { route?: string }) => {
      const moved = await withOutbox(path, (opened) => requeueDeadLetters(opened, options.route));
      log(`${moved} dead letter(s) queued again in ${path}`);
    });
  outbox
    .command('purge <path>')
    .description('Delete the dead letters, or with --all every stored message too')
    .option('--route <name>', 'only this route')
    .option('--all', 'also delete the messages not delivered yet (they are lost)', false)
    .action(async (path: string, options: { route?: string; all: boolean }) => {
      const removed = await withOutbox(path, (opened) => purgeOutbox(opened, { route: options.route, everything: options.all }));
      log(`${removed} record(s) deleted from ${path}`);
    });
}
