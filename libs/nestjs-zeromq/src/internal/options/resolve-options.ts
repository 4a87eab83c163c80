import type { MsPattern } from '@nestjs/microservices';
import { z } from 'zod';
import { DEAD_LETTER_SOCKET_NAME, DEFAULT_SOCKET_NAME } from '../../constants.js';
import { ZeroMqOptionsError } from '../../zeromq.errors.js';
import type { ZeroMqDeliveryMode, ZeroMqEndpoint, ZeroMqSocketKind } from '../../zeromq.options.js';
import type { ZeroMqClientOptions, ZeroMqServerOptions } from '../../zeromq.options.js';
import { resolveClientCurve, resolveServerCurve, type SideCurve } from '../security/curve.js';
import { CLIENT_DEFAULTS, defaultCredit, defaultReceiveHighWaterMark, SERVER_DEFAULTS } from './defaults.js';
import { checkDiscoveryEndpoints, fixedEndpoints, usesDiscovery } from './discovery-endpoints.js';
import type { KindFacts, KindLookup } from './kind-facts.js';
import { SOCKET_KIND_NAMES } from './kind-names.js';
import type {
  ClientRoutePlan,
  ClientSocketPlan,
  ResolvedClientOptions,
  ResolvedEndpoint,
  ResolvedServerOptions,
  SocketPlan,
} from './plans.js';
import { clientSchema, serverSchema } from './schemas.js';

/** Turns a Nest pattern into the string handlers are keyed by (the owner's `normalizePattern`). */
export type PatternNormalizer = (pattern: MsPattern) => string;

function parse<T extends z.ZodType>(schema: T, options: unknown, owner: string): z.output<T> {
  const result = schema.safeParse(options ?? {});
  if (!result.success) {
    throw new ZeroMqOptionsError(`Invalid ${owner} options:\n${z.prettifyError(result.error)}`);
  }
  return result.data;
}

function resolveEndpoints(endpoints: ZeroMqEndpoint[], defaultBind: boolean): ResolvedEndpoint[] {
  return endpoints.map((endpoint) =>
    typeof endpoint === 'string'
      ? { address: endpoint, bind: defaultBind }
      : { address: endpoint.address, bind: endpoint.bind ?? defaultBind },
  );
}

interface RouteInput {
  name?: string;
  kind?: ZeroMqSocketKind;
  delivery?: ZeroMqDeliveryMode;
  patterns: MsPattern[];
  endpoints: ZeroMqEndpoint[];
}

/** The default socket (if it has endpoints) and one socket per route, with names checked. */
function planSockets<R extends RouteInput>(
  owner: string,
  normalize: PatternNormalizer,
  kinds: KindLookup,
  options: { endpoints: ZeroMqEndpoint[]; kind?: ZeroMqSocketKind; delivery?: ZeroMqDeliveryMode; routes: R[] },
  defaults: { bind: boolean; kind: ZeroMqSocketKind },
): Array<SocketPlan & { route: R | undefined }> {
  const { endpoints, routes } = options;
  // At-least-once needs acks travelling back: it implies its kind unless one is set.
  const kindFor = (kind: ZeroMqSocketKind | undefined, delivery: ZeroMqDeliveryMode | undefined) =>
    kind ?? options.kind ?? (delivery === 'at-least-once' ? atLeastOnceKind(kinds).name : defaults.kind);
  const plans: Array<SocketPlan & { route: R | undefined }> = [];
  if (endpoints.length > 0) {
    plans.push({
      name: DEFAULT_SOCKET_NAME,
      kind: kindFor(undefined, options.delivery),
      endpoints: resolveEndpoints(endpoints, defaults.bind),
      patterns: [],
      route: undefined,
    });
  }
  const seenPatterns = new Map<string, string>();
  for (const route of routes) {
    const patterns = route.patterns.map(normalize);
    const name = route.name ?? patterns[0];
    if (plans.some((plan) => plan.name === name)) {
      throw new ZeroMqOptionsError(`Invalid ${owner} options: two sockets are named "${name}"; give each route a unique name`);
    }
    for (const pattern of patterns) {
      const other = seenPatterns.get(pattern);
      if (other !== undefined) {
        throw new ZeroMqOptionsError(
          `Invalid ${owner} options: pattern "${pattern}" is in two routes ("${other}" and "${name}"); a pattern can have one route`,
        );
      }
      seenPatterns.set(pattern, name);
    }
    plans.push({
      name,
      kind: kindFor(route.kind, route.delivery ?? options.delivery),
      endpoints: resolveEndpoints(route.endpoints, defaults.bind),
      patterns,
      route,
    });
  }
  if (plans.length === 0) {
    throw new ZeroMqOptionsError(
      `Invalid ${owner} options: no socket to open; set "endpoints" (for example ["tcp://127.0.0.1:5557"]) or "routes"`,
    );
  }
  return plans;
}

/** The kind at-least-once implies. */
function atLeastOnceKind(kinds: KindLookup): KindFacts {
  return kindsWhere(kinds, (kind) => kind.impliedByAtLeastOnce)[0];
}

/** The kinds that have a fact, in the order options list them. */
function kindsWhere(kinds: KindLookup, has: (kind: KindFacts) => boolean): KindFacts[] {
  return SOCKET_KIND_NAMES.map(kinds).filter(has);
}

/** `'a' or 'b'`, for messages. */
function kindNames(kinds: readonly KindFacts[]): string {
  return kinds.map((kind) => `'${kind.name}'`).join(' or ');
}

/** A server's options with every default applied and its sockets planned, checked against what `kinds` say. */
export function resolveServerOptions(
  input: ZeroMqServerOptions | undefined,
  normalize: PatternNormalizer,
  kinds: KindLookup,
): ResolvedServerOptions {
  const {
    endpoints,
    routes,
    kind,
    concurrency,
    credit,
    receiveBudget,
    receiveHighWaterMark,
    curve,
    serializer: _s,
    deserializer: _d,
    ...rest
  } = parse(serverSchema, input, 'ZeroMqServer');
  const plans = planSockets('ZeroMqServer', normalize, kinds, { endpoints, routes, kind }, SERVER_DEFAULTS);
  checkDiscoveryEndpoints('ZeroMqServer', plans);
  const sideCurve = resolveServerCurve(curve);
  checkCurveRoles(
    'ZeroMqServer',
    kinds,
    sideCurve,
    plans,
    curve?.publisherPublicKey === undefined ? undefined : 'curve.publisherPublicKey',
  );
  // The server's budget is shared out evenly among the sockets that have none of their own.
  const sharing = plans.filter(({ route }) => route?.receiveBudget === undefined).length;
  return {
    ...rest,
    curve: sideCurve,
    sockets: plans.map(({ route, ...plan }) => {
      const socketConcurrency = route?.concurrency ?? concurrency;
      const socketBudget = route?.receiveBudget ?? Math.max(1, Math.floor(receiveBudget / sharing));
      return {
        ...plan,
        concurrency: socketConcurrency,
        credit: route?.credit ?? credit ?? defaultCredit(socketConcurrency),
        receiveBudget: socketBudget,
        receiveHighWaterMark: receiveHighWaterMark ?? defaultReceiveHighWaterMark(socketBudget, rest.maxMessageSize),
      };
    }),
  };
}

/**
 * The client sockets of the routes: one per route, or one per endpoint where the kind tells
 * servers apart that way; plus the dead-letter PUSH socket when `deadLetterEndpoints` are set.
 */
function socketsOf(kinds: KindLookup, routes: readonly ClientRoutePlan[], deadLetterEndpoints: ResolvedEndpoint[]): ClientSocketPlan[] {
  const sockets: ClientSocketPlan[] = routes.flatMap((plan) =>
    // DNS endpoints of such a route get their sockets at run time, one per address (ClientDiscovery).
    kinds(plan.kind).socketPerEndpoint && (plan.endpoints.length > 1 || usesDiscovery([plan]))
      ? fixedEndpoints(plan.endpoints).map((endpoint, index) => ({
          ...plan,
          name: `${plan.name}#${index + 1}`,
          endpoints: [endpoint],
          route: plan.name,
        }))
      : [{ ...plan, route: plan.name }],
  );
  if (deadLetterEndpoints.length > 0) {
    sockets.push({
      name: DEAD_LETTER_SOCKET_NAME,
      kind: 'push-pull',
      endpoints: deadLetterEndpoints,
      patterns: [],
      bare: false,
      delivery: 'at-most-once',
      outbox: undefined,
      route: '',
    });
  }
  return sockets;
}

/**
 * With CURVE, every socket needs its role's keys (a client's non-broadcast sockets need
 * `curve.serverPublicKey`), and an option that only concerns broadcast sockets needs one.
 */
function checkCurveRoles(
  owner: string,
  kinds: KindLookup,
  curve: SideCurve | undefined,
  sockets: ReadonlyArray<{ name: string; kind: ZeroMqSocketKind }>,
  broadcastOption: string | undefined,
): void {
  if (curve === undefined) {
    return;
  }
  const broadcastKinds = kindNames(kindsWhere(kinds, (kind) => kind.curveRole === 'broadcast'));
  const keyless = sockets.find((socket) => curve[kinds(socket.kind).curveRole] === undefined);
  if (keyless !== undefined) {
    throw new ZeroMqOptionsError(
      `Invalid ${owner} options: socket "${keyless.name}" (kind '${keyless.kind}') needs curve.serverPublicKey, the public key of the servers it talks to (curve.allowSubscribers only covers ${broadcastKinds} sockets)`,
    );
  }
  if (broadcastOption !== undefined && !sockets.some((socket) => kinds(socket.kind).curveRole === 'broadcast')) {
    throw new ZeroMqOptionsError(
      `Invalid ${owner} options: ${broadcastOption} applies to ${broadcastKinds} sockets, and this ${owner} has none`,
    );
  }
}

/** Why a client route cannot work as configured, or undefined. */
function routeProblem(kinds: KindLookup, plan: ClientRoutePlan): string | undefined {
  const kind = kinds(plan.kind);
  if (plan.bare && !kind.sendsBare) {
    const bareKinds = kindNames(kindsWhere(kinds, (other) => other.sendsBare));
    return `is bare, which needs kind ${bareKinds} (a plain PULL or SUB peer); it has '${plan.kind}'`;
  }
  if (plan.delivery === 'at-least-once' && !kind.carriesReplies) {
    return `is at-least-once, which needs kind ${kindNames(kindsWhere(kinds, (other) => other.carriesReplies))} (acks travel back); it has '${plan.kind}'`;
  }
  if (plan.delivery === 'at-least-once' && plan.endpoints.some((endpoint) => endpoint.bind)) {
    return 'is at-least-once, which needs the client to connect to each worker endpoint (bind: false) so that credits and acks are per worker';
  }
  return undefined;
}

/** A client's options with every default applied, its routes and sockets planned, checked against what `kinds` say. */
export function resolveClientOptions(
  input: ZeroMqClientOptions | undefined,
  normalize: PatternNormalizer,
  kinds: KindLookup,
): ResolvedClientOptions {
  const {
    endpoints,
    routes,
    kind,
    delivery,
    deadLetterEndpoints,
    outbox,
    curve,
    serializer: _s,
    deserializer: _d,
    ...rest
  } = parse(clientSchema, input, 'ZeroMqClient');
  const plans = planSockets('ZeroMqClient', normalize, kinds, { endpoints, routes, kind, delivery }, CLIENT_DEFAULTS);
  const routePlans: ClientRoutePlan[] = plans.map(({ route, ...plan }) => ({
    ...plan,
    bare: route?.bare ?? false,
    delivery: route?.delivery ?? delivery,
    outbox: (route?.delivery ?? delivery) === 'at-least-once' ? (route?.outbox ?? outbox) : undefined,
  }));
  const unused = routes.find((route) => route.outbox !== undefined && (route.delivery ?? delivery) !== 'at-least-once');
  if (unused !== undefined || (outbox !== undefined && !routePlans.some((plan) => plan.outbox !== undefined))) {
    throw new ZeroMqOptionsError(
      `Invalid ZeroMqClient options: ${unused === undefined ? 'the client' : `route "${unused.name ?? unused.patterns.join(', ')}"`} has an outbox, which only at-least-once routes use (set delivery: 'at-least-once')`,
    );
  }
  for (const plan of routePlans) {
    const problem = routeProblem(kinds, plan);
    if (problem !== undefined) {
      throw new ZeroMqOptionsError(`Invalid ZeroMqClient options: socket "${plan.name}" ${problem}`);
    }
  }
  const sockets = socketsOf(kinds, routePlans, resolveEndpoints(deadLetterEndpoints, CLIENT_DEFAULTS.bind));
  const names = new Set<string>();
  for (const { name } of sockets) {
    if (names.has(name)) {
      throw new ZeroMqOptionsError(
        `Invalid ZeroMqClient options: two sockets are named "${name}" (one per endpoint of a route is "<route>#<n>", the dead-letter socket "${DEAD_LETTER_SOCKET_NAME}"); give each route a unique name`,
      );
    }
    names.add(name);
  }
  checkDiscoveryEndpoints('ZeroMqClient', [...routePlans, ...sockets]);
  const sideCurve = resolveClientCurve(curve);
  checkCurveRoles('ZeroMqClient', kinds, sideCurve, sockets, curve?.allowSubscribers === undefined ? undefined : 'curve.allowSubscribers');
  return {
    ...rest,
    curve: sideCurve,
    routes: routePlans,
    sockets,
  };
}
