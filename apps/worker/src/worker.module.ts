import { ConsoleLogger, Module } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { createLogger } from '../../common/src/env.js';
import { workerEnvSchema, type WorkerEnv } from './config/worker.env.js';
import { zeroMqServerProvider } from './config/zeromq-server.provider.js';
import { WorkerLifecycle } from './lifecycle/worker-lifecycle.service.js';
import { OrdersController } from './orders/orders.controller.js';
import { OrdersService } from './orders/orders.service.js';
import { TasksController } from './tasks/tasks.controller.js';
import { TasksService } from './tasks/tasks.service.js';
import { HasherService } from './work/hasher.service.js';
import { WorkStats } from './work/work-stats.service.js';

@Module({
  imports: [ConfigModule.forRoot({ isGlobal: true, validationSchema: workerEnvSchema })],
  controllers: [OrdersController, TasksController],
  providers: [
    zeroMqServerProvider,
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
    TasksService,
    WorkerLifecycle,
  ],
})
export class WorkerModule {}
