import { Controller, Get, Header, Inject, Module, type DynamicModule } from '@nestjs/common';
import { register, type Registry } from 'prom-client';

/** Injection token of the registry `ZeroMqMetricsModule` serves (inject it to register more metrics). */
export const ZEROMQ_METRICS_REGISTRY = Symbol('ZEROMQ_METRICS_REGISTRY');

/** Options of `ZeroMqMetricsModule.forRoot()`. */
export interface ZeroMqMetricsModuleOptions {
  /**
   * The registry served: the one `registerZeroMqServerMetrics` / `registerZeroMqClientMetrics` were given.
   * @default prom-client's global `register`
   */
  registry?: Registry;
  /**
   * Path of the endpoint, relative to the app's global prefix.
   * @default 'metrics'
   */
  path?: string;
}

/** Prometheus' text exposition format, as prom-client writes it. */
const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/**
 * `GET /metrics` for Prometheus in an HTTP (or hybrid) Nest app: serves a prom-client registry, the
 * one the transport's metrics are registered on.
 *
 * ```ts
 * @Module({ imports: [ZeroMqMetricsModule.forRoot({ registry })] })
 * ```
 * @publicApi
 */
@Module({})
export class ZeroMqMetricsModule {
  static forRoot(options: ZeroMqMetricsModuleOptions = {}): DynamicModule {
    // A class per call: the path is the controller's decorator argument.
    @Controller(options.path ?? 'metrics')
    class ZeroMqMetricsController {
      constructor(@Inject(ZEROMQ_METRICS_REGISTRY) private readonly registry: Registry) {}

      @Get()
      @Header('Content-Type', CONTENT_TYPE)
      metrics(): Promise<string> {
        return this.registry.metrics();
      }
    }
    return {
      module: ZeroMqMetricsModule,
      controllers: [ZeroMqMetricsController],
      providers: [{ provide: ZEROMQ_METRICS_REGISTRY, useValue: options.registry ?? register }],
      exports: [ZEROMQ_METRICS_REGISTRY],
    };
  }
}
