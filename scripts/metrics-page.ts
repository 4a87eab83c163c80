/**
 * `npm run metrics-page -- <out.html>`: what the sample apps' `/metrics` show after some work, as
 * a page a browser can render (docs/observability-metrics.png is a screenshot of it).
 *
 * Starts two workers with an HTTP port and the producer on loopback, posts orders, scrapes both
 * kinds of app once every order is handled, writes the page and stops everything with SIGTERM.
 */
import { writeFileSync } from 'node:fs';
import { sampleOrder } from '../apps/producer/src/load/sample-orders.js';
import { parsePrometheusText, type PrometheusFamily, type PrometheusSample } from './lib/prometheus-text.js';
import { assertAppsBuilt, postOrders, startProducer, startWorker, waitForConnections, type RunningApp } from './lib/sample-apps.js';

const ORDERS = 2_000;
const PROCESSING_TIMEOUT = 60_000;

async function scrape(url: string): Promise<Map<string, PrometheusFamily>> {
  return parsePrometheusText(await (await fetch(`${url}/metrics`)).text());
}

const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const labelsOf = (sample: PrometheusSample) =>
  Object.entries(sample.labels)
    .filter(([key]) => key !== 'le')
    .map(([key, value]) => `${key}="${value}"`)
    .join(', ');
const format = (value: number) => (Number.isInteger(value) ? value.toLocaleString('en') : value.toPrecision(4));

/** The transport's counters and gauges of one app as a table (histograms: their count and sum). */
function table(title: string, families: Map<string, PrometheusFamily>): string {
  const rows = [...families.values()]
    .filter((family) => family.name.startsWith('nestjs_zeromq_'))
    .flatMap((family) =>
      family.samples
        .filter((sample) => !sample.name.endsWith('_bucket'))
        .map((sample) => `<tr><td>${sample.name}</td><td>${escape(labelsOf(sample))}</td><td class="n">${format(sample.value)}</td></tr>`),
    );
  return `<div><h2>${escape(title)}</h2><table><tr><th>metric</th><th>labels</th><th>value</th></tr>${rows.join('')}</table></div>`;
}

/** Handler duration buckets of every worker, as a bar chart of how many handlers fell in each bucket. */
function durationChart(workers: Array<[string, Map<string, PrometheusFamily>]>): string {
  const series = workers.map(([name, families]) => {
    const buckets = (families.get('nestjs_zeromq_server_handler_duration_seconds')?.samples ?? []).filter(
      (sample) => sample.name.endsWith('_bucket') && sample.labels.pattern === 'orders.created' && sample.labels.outcome === 'success',
    );
    // Cumulative counts per `le` → count per bucket.
    return {
      name,
      counts: buckets.map((sample, i) => ({ le: sample.labels.le, count: sample.value - (i > 0 ? buckets[i - 1].value : 0) })),
    };
  });
  const max = Math.max(1, ...series.flatMap((s) => s.counts.map((c) => c.count)));
  const bucketCount = series[0]?.counts.length ?? 0;
  const [width, height, barWidth] = [900, 240, 900 / Math.max(1, bucketCount) / (series.length + 1)];
  const colours = ['#3b82f6', '#f59e0b', '#10b981'];
  const bars = series.flatMap((s, si) =>
    s.counts.map((c, i) => {
      const h = (c.count / max) * (height - 40);
      const x = i * (width / bucketCount) + si * barWidth + 4;
      return `<rect x="${x}" y="${height - 20 - h}" width="${barWidth - 2}" height="${h}" fill="${colours[si % colours.length]}"><title>${s.name} ≤ ${c.le} s: ${c.count}</title></rect>`;
    }),
  );
  const ticks = (series[0]?.counts ?? []).map(
    (c, i) => `<text x="${i * (width / bucketCount) + 4}" y="${height - 4}" font-size="11">≤${c.le}</text>`,
  );
  const legend = series.map((s, si) => `<span style="color:${colours[si % colours.length]}">■ ${escape(s.name)}</span>`).join(' ');
  return `<h2>Handler duration of orders.created (seconds, per bucket)</h2><p>${legend}</p><svg width="${width}" height="${height}">${bars.join('')}${ticks.join('')}</svg>`;
}

async function main(): Promise<void> {
  const out = process.argv[2];
  if (out === undefined) {
    throw new Error('usage: npm run metrics-page -- <out.html>');
  }
  assertAppsBuilt();
  const started: RunningApp[] = [];
  try {
    for (const name of ['worker-1', 'worker-2']) {
      started.push(await startWorker({ name, endpoints: ['tcp://127.0.0.1:*'], httpPort: 0, logLevel: 'debug' }));
    }
    const workers = started.slice();
    const producer = await startProducer({ endpoints: workers.map((worker) => worker.sockets.default[0]) });
    started.push(producer);
    await waitForConnections(producer.url, workers.length);
    const { accepted } = await postOrders(producer.url, ORDERS, 16, sampleOrder);
    const handled = async () => {
      let total = 0;
      for (const worker of workers) {
        total += (await scrape(worker.url!)).get('nestjs_zeromq_server_handled_total')?.samples[0]?.value ?? 0;
      }
      return total;
    };
    const deadline = Date.now() + PROCESSING_TIMEOUT;
    while ((await handled()) < accepted.length) {
      if (Date.now() > deadline) {
        throw new Error(`the workers did not handle ${accepted.length} orders within ${PROCESSING_TIMEOUT} ms`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const workerMetrics: Array<[string, Map<string, PrometheusFamily>]> = [];
    for (const [i, worker] of workers.entries()) {
      workerMetrics.push([`worker-${i + 1}`, await scrape(worker.url!)]);
    }
    const producerMetrics = await scrape(producer.url);
    const page = `<!doctype html><html><head><meta charset="utf-8"><title>nestjs-zeromq metrics</title><style>
      body { font: 13px system-ui, sans-serif; margin: 24px; color: #111 } h1 { font-size: 20px } h2 { font-size: 15px; margin-top: 24px }
      table { border-collapse: collapse } td, th { border: 1px solid #ddd; padding: 2px 8px; text-align: left; white-space: nowrap } td.n { text-align: right; font-variant-numeric: tabular-nums }
      .apps { display: grid; gap: 8px }</style></head><body>
      <h1>nestjs-zeromq: the sample apps' /metrics after ${accepted.length.toLocaleString('en')} orders (producer → 2 workers)</h1>
      ${durationChart(workerMetrics)}
      <div class="apps">${table('producer /metrics', producerMetrics)}${table('worker-1 /metrics', workerMetrics[0][1])}</div>
      </body></html>`;
    writeFileSync(out, page);
    console.log(`Wrote ${out}`);
  } finally {
    await Promise.all(started.map((app) => app.process.stop()));
  }
}

main().catch((error: unknown) => {
  console.error((error as Error).message);
  process.exit(1);
});
