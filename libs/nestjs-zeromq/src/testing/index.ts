export {
  createZeroMqTestingPair,
  type ZeroMqTestingModuleRef,
  type ZeroMqTestingPair,
  type ZeroMqTestingPairOptions,
} from './zeromq-testing-pair.js';
