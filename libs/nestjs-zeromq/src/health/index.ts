/**
 * Health checks for @nestjs/terminus (an optional peer dependency): readiness and liveness of a ZeroMqServer or ZeroMqClient.
 * @module nestjs-zeromq/terminus
 */
export {
  assessZeroMqHealth,
  type ZeroMqHealthAssessment,
  type ZeroMqHealthOptions,
  type ZeroMqSocketHealth,
} from './zeromq-health.assessment.js';
export { ZeroMqHealthIndicator } from './zeromq.health-indicator.js';
