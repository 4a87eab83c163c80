/**
 * The container image's HEALTHCHECK: `GET /health` on this container's app, exit 0 if it answers
 * 2xx, 1 otherwise. One image runs either app, so the port comes from the environment:
 * HEALTHCHECK_PORT if set, else the worker's WORKER_HTTP_PORT, else the producer's PRODUCER_PORT
 * (default 3000). Kubernetes does not use it: its probes are in the manifests.
 */
const TIMEOUT_MS = 2_000;

const port = process.env.HEALTHCHECK_PORT || process.env.WORKER_HTTP_PORT || process.env.PRODUCER_PORT || '3000';
const url = `http://127.0.0.1:${port}/health`;

try {
  const response = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS) });
  if (!response.ok) {
    console.error(`${url} answered ${response.status}`);
  }
  process.exitCode = response.ok ? 0 : 1;
} catch (error) {
  console.error(`${url} did not answer: ${(error as Error).message}`);
  process.exitCode = 1;
}
