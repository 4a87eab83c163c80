// Entry point `nestjs-zeromq/terminus`: needs the optional peer @nestjs/terminus.
export {
  assessZeroMqHealth,
  type ZeroMqHealthAssessment,
  type ZeroMqHealthOptions,
  type ZeroMqSocketHealth,
} from './zeromq-health.assessment.js';
export { ZeroMqHealthIndicator } from './zeromq.health-indicator.js';
