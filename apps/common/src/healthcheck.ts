/**
 * The container image's HEALTHCHECK: `GET /health` on this container's app, exit 0 if it answers
 * 2xx, 1 otherwise (saying why on stderr). One image runs either app, so where to ask comes from the
 * environment: HEALTHCHECK_PORT (and HEALTHCHECK_HOST) if set; else, in a worker's container
 * (WORKER_ENDPOINTS set), WORKER_HTTP_PORT on WORKER_HTTP_HOST; else the producer's PRODUCER_PORT
 * (default 3000) on PRODUCER_HOST. A wildcard host (0.0.0.0, ::) is asked on loopback. Kubernetes
 * does not use it: its probes are in the manifests.
 */
const TIMEOUT_MS = 2_000;
const WILDCARD_HOSTS = new Set(['0.0.0.0', '::', '[::]', '']);

/** Where the app of this container answers HTTP, or why there is no such place. */
function target(env: NodeJS.ProcessEnv): { url: string } | { problem: string } {
  const worker = env.WORKER_ENDPOINTS !== undefined;
  const port = env.HEALTHCHECK_PORT || (worker ? env.WORKER_HTTP_PORT : env.PRODUCER_PORT || '3000');
  if (!port) {
    return { problem: 'this worker serves no HTTP: set WORKER_HTTP_PORT (a fixed port) for the health check to ask' };
  }
  if (port === '0') {
    return { problem: 'the app listens on a port the OS chooses (0): set a fixed port, or HEALTHCHECK_PORT' };
  }
  const host = (env.HEALTHCHECK_HOST || (worker ? env.WORKER_HTTP_HOST : env.PRODUCER_HOST) || '127.0.0.1').trim();
  const reachable = WILDCARD_HOSTS.has(host) ? '127.0.0.1' : host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return { url: `http://${reachable}:${port}/health` };
}

const found = target(process.env);
if ('problem' in found) {
  console.error(found.problem);
  process.exitCode = 1;
} else {
  try {
    const response = await fetch(found.url, { signal: AbortSignal.timeout(TIMEOUT_MS) });
    if (!response.ok) {
      console.error(`${found.url} answered ${response.status}`);
    }
    process.exitCode = response.ok ? 0 : 1;
  } catch (error) {
    console.error(`${found.url} did not answer: ${(error as Error).message}`);
    process.exitCode = 1;
  }
}
