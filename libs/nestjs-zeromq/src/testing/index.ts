/**
 * Helpers for end-to-end tests of your handlers over ZeroMQ, in one process.
 * @module nestjs-zeromq/testing
 */
export {
  createZeroMqTestingPair,
  type ZeroMqTestingModuleRef,
  type ZeroMqTestingPair,
  type ZeroMqTestingPairOptions,
} from './zeromq-testing-pair.js';
