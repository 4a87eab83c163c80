import { Counters } from '../util/counters.js';

/** The counters each inbox keeps; `ZeroMqServer#getMetrics()` adds them up (docs on ZeroMqServerMetrics). */
export const SERVER_COUNTERS = [
  'received',
  'handled',
  'failed',
  'unknownPattern',
  'malformed',
  'undecodable',
  'droppedOnClose',
  'repliesFailed',
  'duplicates',
  'beforeHello',
  'deadLettered',
  'expired',
  'missed',
] as const;

export type ServerCounter = (typeof SERVER_COUNTERS)[number];

export const serverCounters = () => new Counters(SERVER_COUNTERS);
