// @ts-check
/**
 * Mutation testing of the delivery core with StrykerJS (docs/mutation.md). One target per run,
 * chosen with STRYKER_TARGET (`npm run mutation -- <target>` sets it): each target mutates one
 * small file and runs only the specs that are meant to hold it, one mutant at a time (CPU is scarce).
 */
const TARGETS = {
  'delivery-ledger': {
    // The score published in docs/mutation.md: a run below it fails (CI runs this target).
    break: 100,
    mutate: ['libs/nestjs-zeromq/src/internal/server/delivery-ledger.ts'],
    tests: ['libs/nestjs-zeromq/src/internal/server/delivery-ledger.spec.ts', 'libs/nestjs-zeromq/src/zeromq.redelivery.spec.ts'],
  },
  'send-queue': {
    // 100% in docs/mutation.md (its last two survivors killed by send-queue-limits.spec.ts); CI re-runs it when it changes.
    break: 100,
    mutate: ['libs/nestjs-zeromq/src/internal/sockets/send-queue.ts'],
    tests: ['libs/nestjs-zeromq/src/internal/sockets/send-queue*.spec.ts'],
  },
  decode: {
    // 96.74% in docs/mutation.md (six equivalent mutants left); CI re-runs it when it changes.
    break: 96,
    mutate: ['libs/nestjs-zeromq/src/internal/protocol/decode.ts'],
    // Unit specs only: with the fuzz spec (real sockets) every mutant took as long as a whole run of it.
    tests: ['libs/nestjs-zeromq/src/internal/protocol/*.spec.ts'],
  },
  'resolve-options': {
    // 99.28% in docs/mutation.md (two equivalent mutants left); CI re-runs it when it changes
    // (a whole run takes 33 to 40 minutes: only what a change touches fits CI's time).
    break: 99,
    // With the DNS endpoint checks it calls (kind-facts.ts, plans.ts and kind-names.ts hold no logic).
    mutate: [
      'libs/nestjs-zeromq/src/internal/options/resolve-options.ts',
      'libs/nestjs-zeromq/src/internal/options/dns-endpoint.ts',
      'libs/nestjs-zeromq/src/internal/options/discovery-endpoints.ts',
    ],
    // The CURVE role checks and the socket options are resolved here too.
    tests: [
      'libs/nestjs-zeromq/src/internal/options/resolve-options*.spec.ts',
      'libs/nestjs-zeromq/src/internal/options/dns-endpoint.spec.ts',
      'libs/nestjs-zeromq/src/internal/security/curve.spec.ts',
      'libs/nestjs-zeromq/src/internal/kinds/socket-options.spec.ts',
    ],
  },
  // The inboxes, by the behaviour of a real server's sockets (they survive a refactor of the classes).
  'sub-inbox': {
    // 94.29% in docs/mutation.md (two equivalent mutants left); CI re-runs it when it changes.
    break: 94,
    mutate: ['libs/nestjs-zeromq/src/internal/server/sub-inbox.ts'],
    tests: ['libs/nestjs-zeromq/src/zeromq.pub-sub*.spec.ts'],
  },
  inbox: {
    // 88.46% in docs/mutation.md (12 equivalent mutants left); CI re-runs it when it changes.
    break: 88,
    mutate: [
      'libs/nestjs-zeromq/src/internal/server/inbox.ts',
      'libs/nestjs-zeromq/src/internal/server/pull-inbox.ts',
      'libs/nestjs-zeromq/src/internal/server/handler-run.ts',
    ],
    tests: [
      'libs/nestjs-zeromq/src/zeromq.transport.spec.ts',
      'libs/nestjs-zeromq/src/zeromq.interop.spec.ts',
      'libs/nestjs-zeromq/src/zeromq.lifecycle.spec.ts',
      'libs/nestjs-zeromq/src/zeromq.inbox*.spec.ts',
      'libs/nestjs-zeromq/src/hooks/zeromq.hooks.spec.ts',
      // The receive budget is sized here (the headroom, a batch's bytes per record).
      'libs/nestjs-zeromq/src/zeromq.receive-budget.spec.ts',
    ],
  },
  'router-inbox': {
    // 91.28% in docs/mutation.md (13 equivalent mutants left); CI re-runs it when it changes.
    break: 90,
    mutate: ['libs/nestjs-zeromq/src/internal/server/router-inbox.ts', 'libs/nestjs-zeromq/src/internal/server/request-inbox.ts'],
    tests: [
      'libs/nestjs-zeromq/src/zeromq.redelivery.spec.ts',
      'libs/nestjs-zeromq/src/zeromq.at-least-once.spec.ts',
      'libs/nestjs-zeromq/src/zeromq.request-response.spec.ts',
      'libs/nestjs-zeromq/src/zeromq.router-*.spec.ts',
    ],
  },
  // The at-least-once tracker, the parts it was split into (DeliveryEndings, DeliveryRetries) and what it counts
  // (OutstandingDeliveries), by globs that find them wherever the module keeps them.
  'delivery-tracker': {
    // 94.43% in docs/mutation.md (18 equivalent mutants left); CI re-runs it when it changes.
    break: 94,
    mutate: [
      'libs/nestjs-zeromq/src/internal/**/delivery-tracker.ts',
      'libs/nestjs-zeromq/src/internal/**/delivery-endings.ts',
      'libs/nestjs-zeromq/src/internal/**/delivery-retries.ts',
      'libs/nestjs-zeromq/src/internal/**/outstanding-deliveries.ts',
    ],
    tests: [
      'libs/nestjs-zeromq/src/internal/**/delivery-tracker*.spec.ts',
      'libs/nestjs-zeromq/src/internal/**/keyed-delivery.spec.ts',
      'libs/nestjs-zeromq/src/internal/**/stored-deliveries.spec.ts',
    ],
  },
};

const name = process.env.STRYKER_TARGET ?? '';
/** @type {{ mutate: string[]; tests: string[]; break?: number } | undefined} */
const target = TARGETS[/** @type {keyof typeof TARGETS} */ (name)];
if (target === undefined) {
  throw new Error(`STRYKER_TARGET must be one of ${Object.keys(TARGETS).join(', ')} (got "${name}")`);
}

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  mutate: target.mutate,
  testRunner: 'jest',
  testRunnerNodeArgs: ['--experimental-vm-modules'],
  jest: {
    configFile: 'jest.config.js',
    config: { testMatch: target.tests.map((path) => `<rootDir>/${path}`) },
    enableFindRelatedTests: false,
  },
  checkers: ['typescript'],
  tsconfigFile: 'tsconfig.json',
  // Checked one by one: in groups (the default) a valid mutant that shares a group with a broken one
  // is reported as not compiling, which hid most of resolve-options.ts.
  typescriptChecker: { prioritizePerformanceOverAccuracy: false },
  coverageAnalysis: 'perTest',
  concurrency: 1,
  timeoutMS: 30_000,
  ignorePatterns: ['dist', '**/dist', 'docs', 'bench/results', 'examples'],
  thresholds: { high: 90, low: 70, break: target.break ?? null },
  reporters: ['clear-text', 'progress', 'json'],
  jsonReporter: { fileName: `reports/mutation/${name}.json` },
  // `npm run mutation -- --incremental` re-runs only the mutants whose code or covering tests changed.
  incrementalFile: `reports/mutation/${name}.incremental.json`,
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
};
