import { defaultReceiveHighWaterMark, defaultSendHighWaterMark, ZEROMQ_SEND_HIGH_WATER_MARK } from '../options/defaults.js';
import type { KindFacts } from '../options/kind-facts.js';
import type { ResolvedClientOptions, ResolvedServerOptions, ResolvedTuning, ServerSocketPlan } from '../options/plans.js';
import { curveSocketOptions } from '../security/curve.js';

/**
 * zeromq.js constructor options every socket of a server or client gets, CURVE keys included
 * (the role a socket of `kind` takes): every socket the library creates must take its options from here.
 */
export function tuningSocketOptions(tuning: ResolvedTuning, kind: Pick<KindFacts, 'curveRole'>) {
  return {
    ...curveSocketOptions(tuning.curve?.[kind.curveRole]),
    linger: tuning.linger,
    reconnectInterval: tuning.reconnectInterval,
    reconnectMaxInterval: tuning.reconnectMaxInterval,
    ...(tuning.heartbeat === false ? {} : { heartbeatInterval: tuning.heartbeat.interval, heartbeatTimeout: tuning.heartbeat.timeout }),
  };
}

/** Options of a server socket of `kind` planned by `plan` (its ZeroMQ queue sized from its receive budget). */
export function serverSocketOptions(
  config: ResolvedServerOptions,
  plan: Pick<ServerSocketPlan, 'receiveHighWaterMark'>,
  kind: Pick<KindFacts, 'curveRole'>,
) {
  return { ...tuningSocketOptions(config, kind), maxMessageSize: config.maxMessageSize, receiveHighWaterMark: plan.receiveHighWaterMark };
}

/**
 * Options of a client socket of `kind` (a kind may override some: see dealer-router.kind.ts). A
 * kind that carries replies bounds what ZeroMQ may queue of them in bytes (`receiveBudget`).
 */
export function clientSocketOptions(
  config: ResolvedClientOptions,
  kind: Pick<KindFacts, 'curveRole' | 'dropsPastHighWaterMark' | 'carriesReplies'>,
) {
  return {
    ...tuningSocketOptions(config, kind),
    sendTimeout: config.sendTimeout,
    sendHighWaterMark:
      config.sendHighWaterMark ??
      (kind.dropsPastHighWaterMark ? ZEROMQ_SEND_HIGH_WATER_MARK : defaultSendHighWaterMark(config.maxQueueBytes, config.maxBatchBytes)),
    immediate: config.immediate,
    ...(kind.carriesReplies
      ? {
          maxMessageSize: config.maxMessageSize,
          receiveHighWaterMark: defaultReceiveHighWaterMark(config.receiveBudget, config.maxMessageSize),
        }
      : {}),
  };
}
