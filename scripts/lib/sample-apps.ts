import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CreateOrderRequest } from '../../apps/producer/src/orders/create-order.request.js';
import { AppProcess, type OutputLine } from './app-process.js';
import { parsePrometheusText } from './prometheus-text.js';

/** The repository root: the nearest folder above this file with tsconfig.build.json (from src or dist). */
export const REPO_ROOT = ((): string => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'tsconfig.build.json'))) {
    const parent = dirname(dir);
    if (parent === dir) {
      throw new Error(`No tsconfig.build.json above ${fileURLToPath(import.meta.url)}`);
    }
    dir = parent;
  }
  return dir;
})();

/** The built apps (`npm run build`); dist mirrors the source tree. */
export const WORKER_MAIN = join(REPO_ROOT, 'dist/apps/worker/src/main.js');
export const PRODUCER_MAIN = join(REPO_ROOT, 'dist/apps/producer/src/main.js');
export const PRODUCE_CLI = join(REPO_ROOT, 'dist/apps/producer/src/produce.js');

/** How long an app may take to print its ready line (2 cores, several apps starting at once). */
export const READY_TIMEOUT = 20_000;

export function assertAppsBuilt(): void {
  for (const file of [WORKER_MAIN, PRODUCER_MAIN, PRODUCE_CLI]) {
    if (!existsSync(file)) {
      throw new Error(`${file} is missing: run "npm run build" first`);
    }
  }
}

export interface WorkerSettings {
  name: string;
  endpoints: string[];
  tasksEndpoints?: string[];
  /** Producers' broadcast addresses to subscribe to (price changes). */
  broadcastEndpoints?: string[];
  bind?: boolean;
  concurrency?: number;
  hashIterations?: number;
  /** Makes the worker a hybrid app with `/health` and `/metrics` on this port (`0`: OS-chosen). */
  httpPort?: number;
  /** `verbose` adds a line when each order starts. */
  logLevel?: 'debug' | 'verbose';
  netns?: string;
  echo?: boolean;
  /** More environment, for example the CURVE variables. */
  env?: Record<string, string>;
}

export interface ProducerSettings {
  endpoints: string[];
  bind?: boolean;
  /** A durable outbox directory (PRODUCER_OUTBOX_PATH; at-least-once delivery with it). */
  outboxPath?: string;
  exportEndpoints?: string[];
  /** Addresses the producer's price broadcast socket binds. */
  broadcastEndpoints?: string[];
  sendTimeout?: number;
  netns?: string;
  echo?: boolean;
  /** More environment, for example the CURVE variables. */
  env?: Record<string, string>;
}

export interface RunningApp {
  process: AppProcess;
  /** Actual addresses by socket name, from the ready line. */
  sockets: Record<string, string[]>;
  /** Base URL of the HTTP port (producer; worker with `httpPort`), from the ready line. */
  url?: string;
}

export interface RunningProducer extends RunningApp {
  /** Base URL of the HTTP API, from the ready line. */
  url: string;
}

/** Starts a worker (JSON logs, one debug line per job) and waits for its ready line. */
export function startWorker(settings: WorkerSettings): Promise<RunningApp> {
  const env: Record<string, string> = {
    WORKER_NAME: settings.name,
    WORKER_ENDPOINTS: settings.endpoints.join(','),
    WORKER_BIND: String(settings.bind ?? true),
    LOG_FORMAT: 'json',
    LOG_LEVEL: settings.logLevel ?? 'debug',
    ...settings.env,
  };
  if (settings.tasksEndpoints !== undefined) {
    env.WORKER_TASKS_ENDPOINTS = settings.tasksEndpoints.join(',');
  }
  if (settings.broadcastEndpoints !== undefined) {
    env.WORKER_BROADCAST_ENDPOINTS = settings.broadcastEndpoints.join(',');
  }
  if (settings.concurrency !== undefined) {
    env.WORKER_CONCURRENCY = String(settings.concurrency);
  }
  if (settings.hashIterations !== undefined) {
    env.WORKER_HASH_ITERATIONS = String(settings.hashIterations);
  }
  if (settings.httpPort !== undefined) {
    env.WORKER_HTTP_PORT = String(settings.httpPort);
  }
  const child = new AppProcess(settings.name, process.execPath, [WORKER_MAIN], { env, netns: settings.netns, echo: settings.echo });
  return ready(child, 'Worker').then((line) => ({ process: child, sockets: parseSockets(line.message), url: httpUrlOf(line.message) }));
}

/** Starts the HTTP producer on an OS-chosen port and waits for its ready line. */
export function startProducer(settings: ProducerSettings, name = 'producer'): Promise<RunningProducer> {
  const env: Record<string, string> = {
    PRODUCER_PORT: '0',
    PRODUCER_ENDPOINTS: settings.endpoints.join(','),
    PRODUCER_BIND: String(settings.bind ?? false),
    LOG_FORMAT: 'json',
    ...settings.env,
  };
  if (settings.exportEndpoints !== undefined) {
    env.PRODUCER_EXPORT_ENDPOINTS = settings.exportEndpoints.join(',');
  }
  if (settings.broadcastEndpoints !== undefined) {
    env.PRODUCER_BROADCAST_ENDPOINTS = settings.broadcastEndpoints.join(',');
  }
  if (settings.sendTimeout !== undefined) {
    env.PRODUCER_SEND_TIMEOUT = String(settings.sendTimeout);
  }
  if (settings.outboxPath !== undefined) {
    env.PRODUCER_DELIVERY = 'at-least-once';
    env.PRODUCER_OUTBOX_PATH = settings.outboxPath;
  }
  const child = new AppProcess(name, process.execPath, [PRODUCER_MAIN], { env, netns: settings.netns, echo: settings.echo });
  return ready(child, 'Producer').then((line) => {
    const url = httpUrlOf(line.message);
    if (url === undefined) {
      throw new Error(`No HTTP address in the producer's ready line: ${line.message}`);
    }
    return { process: child, sockets: parseSockets(line.message), url };
  });
}

async function ready(child: AppProcess, context: string): Promise<OutputLine> {
  try {
    return await child.waitFor((line) => line.context === context && line.message.startsWith('Ready: '), READY_TIMEOUT, 'ready line');
  } catch (error) {
    await child.kill();
    throw error;
  }
}

/** The `HTTP on http://...` address of a ready line, if any. */
function httpUrlOf(message: string): string | undefined {
  return /HTTP on (http:\/\/[^;\s]+)/.exec(message)?.[1];
}

/** `default socket on A and B, tasks socket on C (bound)` → `{ default: [A, B], tasks: [C] }`. */
export function parseSockets(message: string): Record<string, string[]> {
  const sockets: Record<string, string[]> = {};
  for (const match of message.matchAll(/(\w+) socket on (.+?)(?=, \w+ socket on | \(|$)/g)) {
    sockets[match[1]] = match[2].split(' and ');
  }
  return sockets;
}

/** Ids of the orders a worker logged as processed, in order (pass `worker.lines`, or a slice of them). */
export function processedOrderIds(lines: readonly OutputLine[]): string[] {
  return lines
    .filter((line) => line.context === 'OrdersService')
    .map((line) => /^Order (\S+) processed/.exec(line.message)?.[1])
    .filter((id): id is string => id !== undefined);
}

/** Texts of the plain tasks a worker logged as processed, in order. */
export function processedPlainTasks(lines: readonly OutputLine[]): string[] {
  return lines
    .filter((line) => line.context === 'TasksService')
    .map((line) => /^Plain task (".*") from socket/.exec(line.message)?.[1])
    .filter((text): text is string => text !== undefined)
    .map((text) => JSON.parse(text) as string);
}

/** The price changes a worker logged as applied, in order. */
export function appliedPrices(lines: readonly OutputLine[]): Array<{ sku: string; unitPrice: number }> {
  return lines
    .filter((line) => line.context === 'PriceBook')
    .map((line) => /^Price of (\S+) is now (\S+) /.exec(line.message))
    .filter((match): match is RegExpExecArray => match !== null)
    .map((match) => ({ sku: match[1], unitPrice: Number(match[2]) }));
}

/** POST /prices on the producer: broadcasts a price change to every subscribed worker. */
export function postPrice(url: string, sku: string, unitPrice: number): Promise<PostResult> {
  return postJson(`${url}/prices`, { sku, unitPrice });
}

/** Polls GET /prices/subscribers (every 50 ms, at most `timeoutMs`) until `count` workers are subscribed. */
export async function waitForPriceSubscribers(url: string, count: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let subscribers = 0;
  while (Date.now() < deadline) {
    subscribers = ((await (await fetch(`${url}/prices/subscribers`)).json()) as { subscribers: number }).subscribers;
    if (subscribers >= count) {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`Only ${subscribers} of ${count} workers subscribed to price changes within ${timeoutMs} ms`);
}

export interface WorkerSummary {
  signal: string;
  received: number;
  handled: number;
  byPattern: string;
  failed: number;
  droppedOnClose: number;
}

const SUMMARY = /^Stopped after (\S+), up [\d.]+ s: received (\d+), handled (\d+) \((.*)\), failed (\d+), dropped on close (\d+)$/;

/** The worker's shutdown summary line, once it has exited. */
export function workerSummary(worker: AppProcess): WorkerSummary {
  const match = worker.lines.map((line) => SUMMARY.exec(line.message)).find((found) => found !== null);
  if (match === undefined || match === null) {
    throw new Error(`${worker.name} printed no summary line; last output:\n${worker.tail()}`);
  }
  return {
    signal: match[1],
    received: Number(match[2]),
    handled: Number(match[3]),
    byPattern: match[4],
    failed: Number(match[5]),
    droppedOnClose: Number(match[6]),
  };
}

/** Jobs the worker said were still running when the shutdown signal came. */
export function inFlightAtShutdown(worker: AppProcess): number | undefined {
  const match = worker.lines.map((line) => /: no new jobs; waiting for (\d+) job\(s\) in flight$/.exec(line.message)).find(Boolean);
  return match ? Number(match[1]) : undefined;
}

export interface PostResult {
  status: number;
  body: unknown;
}

export function postOrder(url: string, body: unknown): Promise<PostResult> {
  return postJson(`${url}/orders`, body);
}

async function postJson(url: string, body: unknown): Promise<PostResult> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

export interface Accepted {
  id: string;
  /** `performance.now()` when the request was sent. */
  sentAt: number;
  /** `performance.now()` when the 202 came back. */
  at: number;
}

/**
 * Posts `orders(0) … orders(count - 1)` with `parallel` requests at a time; resolves with the
 * accepted ones (in the order they were accepted) and the answers that were not 202.
 */
export async function postOrders(
  url: string,
  count: number,
  parallel: number,
  orders: (index: number) => CreateOrderRequest,
  onAccepted?: (accepted: Accepted, total: number) => void,
): Promise<{ accepted: Accepted[]; refused: PostResult[] }> {
  const accepted: Accepted[] = [];
  const refused: PostResult[] = [];
  let next = 0;
  const lane = async () => {
    while (next < count) {
      const sentAt = performance.now();
      const result = await postOrder(url, orders(next++));
      if (result.status === 202) {
        const entry = { id: (result.body as { id: string }).id, sentAt, at: performance.now() };
        accepted.push(entry);
        onAccepted?.(entry, accepted.length);
      } else {
        refused.push(result);
      }
    }
  };
  await Promise.all(Array.from({ length: parallel }, lane));
  return { accepted, refused };
}

/** One socket in a health check's details (see ZeroMqHealthIndicator). */
export interface SocketHealth {
  connections: number;
  queued?: number;
  maxQueueSize?: number;
  reading?: boolean;
  inFlight?: number;
  concurrency?: number;
}

/** One route's durable outbox in a health check's details. */
export interface OutboxHealth {
  stored: number;
  storedBytes: number;
  maxBytes: number;
  oldestAgeMs: number;
  deadLetters: number;
}

/** A terminus `/health` answer (HTTP 200 when `status` is `ok`, 503 when `error`) with the transport's indicator. */
export interface AppHealth {
  httpStatus: number;
  status: 'ok' | 'error';
  details: Record<
    string,
    { status: 'up' | 'down'; state: string; sockets: Record<string, SocketHealth>; outbox?: Record<string, OutboxHealth>; message?: string }
  >;
}

/** GET `/health` (readiness) of the producer, or of a worker started with an HTTP port. */
export async function appHealth(url: string, path = '/health'): Promise<AppHealth> {
  const response = await fetch(`${url}${path}`);
  return { httpStatus: response.status, ...((await response.json()) as Omit<AppHealth, 'httpStatus'>) };
}

/** The producer's client counters, read from its `/metrics` (Prometheus text, parsed). */
export async function producerCounters(url: string): Promise<{ sent: number; failed: number }> {
  const [sent, failed] = await producerMetrics(url, ['nestjs_zeromq_client_sent_total', 'nestjs_zeromq_client_failed_total']);
  return { sent, failed };
}

/** Values of the orders client's metrics (their first sample) from the producer's `/metrics`; NaN for a missing one. */
export async function producerMetrics(url: string, names: readonly string[]): Promise<number[]> {
  const families = parsePrometheusText(await (await fetch(`${url}/metrics`)).text());
  return names.map((name) => families.get(name)?.samples.find((sample) => sample.labels.client === 'orders')?.value ?? Number.NaN);
}

/** Resolves once `done()` is true, checking every 50 ms for at most `timeoutMs`. */
export async function until(done: () => boolean, timeoutMs: number, what: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) {
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Polls `/health` (every 50 ms, at most `timeoutMs`) until `socket` has `count` live connections
 * (over its sockets per endpoint, `default#1`, `default#2`..., with at-least-once delivery).
 */
export async function waitForConnections(url: string, count: number, socket = 'default', timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: AppHealth | undefined;
  while (Date.now() < deadline) {
    last = await appHealth(url);
    const sockets = Object.entries(last.details.orders?.sockets ?? {}).filter(([name]) => name === socket || name.startsWith(`${socket}#`));
    if (sockets.reduce((sum, [, health]) => sum + health.connections, 0) === count) {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`The producer's "${socket}" socket did not reach ${count} connection(s) within ${timeoutMs} ms: ${JSON.stringify(last)}`);
}
