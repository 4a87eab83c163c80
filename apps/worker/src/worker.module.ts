import { ConsoleLogger, Module } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { TerminusModule } from '@nestjs/terminus';
import { ZeroMqHealthIndicator } from 'nestjs-zeromq/terminus';
import { createLogger } from '../../common/src/env.js';
import { MetricsController } from '../../common/src/observability/metrics.controller.js';
import { metricsRegistryProvider } from '../../common/src/observability/metrics-registry.js';
import { workerEnvSchema, type WorkerEnv } from './config/worker.env.js';
import { zeroMqServerProvider } from './config/zeromq-server.provider.js';
import { HealthController } from './health/health.controller.js';
import { WorkerLifecycle } from './lifecycle/worker-lifecycle.service.js';
import { OrdersController } from './orders/orders.controller.js';
import { OrdersService } from './orders/orders.service.js';
import { PriceBook } from './prices/price-book.service.js';
import { PricesController } from './prices/prices.controller.js';
import { TasksController } from './tasks/tasks.controller.js';
import { TasksService } from './tasks/tasks.service.js';
import { HasherService } from './work/hasher.service.js';
import { WorkStats } from './work/work-stats.service.js';

@Module({
  imports: [ConfigModule.forRoot({ isGlobal: true, validationSchema: workerEnvSchema }), TerminusModule],
  // Health and metrics answer on the HTTP port, when WORKER_HTTP_PORT makes the worker a hybrid app.
  controllers: [OrdersController, TasksController, PricesController, HealthController, MetricsController],
  providers: [
    metricsRegistryProvider,
    zeroMqServerProvider,
    ZeroMqHealthIndicator,
    {
      provide: ConsoleLogger,
      inject: [ConfigService],
      useFactory: (config: ConfigService<WorkerEnv, true>) =>
        createLogger(config.get('WORKER_NAME', { infer: true }), {
          LOG_LEVEL: config.get('LOG_LEVEL', { infer: true }),
          LOG_FORMAT: config.get('LOG_FORMAT', { infer: true }),
        }),
    },
    HasherService,
    WorkStats,
    OrdersService,
    PriceBook,
    TasksService,
    WorkerLifecycle,
  ],
})
export class WorkerModule {}
