/** Jest 30 + ts-jest in ESM mode (Nest 12 is ESM only). Run through `npm test`. */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: {
    '^nestjs-zeromq$': '<rootDir>/libs/nestjs-zeromq/src/index.ts',
    '^nestjs-zeromq/terminus$': '<rootDir>/libs/nestjs-zeromq/src/health/index.ts',
    '^nestjs-zeromq/prometheus$': '<rootDir>/libs/nestjs-zeromq/src/metrics/index.ts',
    '^nestjs-zeromq/opentelemetry$': '<rootDir>/libs/nestjs-zeromq/src/tracing/index.ts',
    '^nestjs-zeromq/testing$': '<rootDir>/libs/nestjs-zeromq/src/testing/index.ts',
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: '<rootDir>/tsconfig.spec.json' }],
  },
  testMatch: [
    '<rootDir>/libs/**/*.spec.ts',
    '<rootDir>/apps/**/*.spec.ts',
    '<rootDir>/bench/**/*.spec.ts',
    '<rootDir>/test/**/*.e2e-spec.ts',
  ],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  testTimeout: 30_000,
};
