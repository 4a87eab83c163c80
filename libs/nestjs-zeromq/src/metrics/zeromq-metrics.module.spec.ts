import { Module, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Registry } from 'prom-client';
import { ZeroMqServer } from '../zeromq.server.js';
import { LOOPBACK_ANY_PORT } from '../../test/endpoints.js';
import { TEST_LOG_LEVELS } from '../../test/nest-apps.js';
import { within } from '../../test/waiting.js';
import { registerZeroMqServerMetrics } from './server-metrics.js';
import { ZEROMQ_METRICS_REGISTRY, ZeroMqMetricsModule } from './zeromq-metrics.module.js';

describe('ZeroMqMetricsModule', () => {
  let app: INestApplication | undefined;

  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  async function serve(module: new () => unknown, server?: ZeroMqServer): Promise<string> {
    app = await NestFactory.create(module, { logger: TEST_LOG_LEVELS });
    if (server !== undefined) {
      app.connectMicroservice({ strategy: server });
      await app.startAllMicroservices();
    }
    await app.listen(0, '127.0.0.1');
    return app.getUrl();
  }

  it("serves a hybrid app's transport metrics on GET /metrics in Prometheus' text format", async () => {
    const registry = new Registry();
    const server = new ZeroMqServer({ endpoints: [LOOPBACK_ANY_PORT] });
    registerZeroMqServerMetrics(server, { registry, name: 'orders-worker' });

    @Module({ imports: [ZeroMqMetricsModule.forRoot({ registry })] })
    class HybridModule {}

    const url = await serve(HybridModule, server);
    const response = await within(fetch(`${url}/metrics`), 5_000, 'the scrape');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(await response.text()).toContain('nestjs_zeromq_server_received_total{server="orders-worker"} 0');
    expect(app!.get(ZEROMQ_METRICS_REGISTRY)).toBe(registry);
  });

  it('serves on the path it is given', async () => {
    const registry = new Registry();
    registry.setDefaultLabels({ app: 'probe' });
    @Module({ imports: [ZeroMqMetricsModule.forRoot({ registry, path: 'internal/prometheus' })] })
    class PathModule {}

    const url = await serve(PathModule);
    expect((await within(fetch(`${url}/internal/prometheus`), 5_000, 'the scrape')).status).toBe(200);
    expect((await within(fetch(`${url}/metrics`), 5_000, 'a miss')).status).toBe(404);
  });
});
