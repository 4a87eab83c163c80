import { ConsoleLogger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { AsyncMicroserviceOptions } from '@nestjs/microservices';
import { ZeroMqServer } from 'nestjs-zeromq';
import { EventErrorsFilter, eventValidationPipe } from './events/event-validation.js';
import { WorkerLifecycle } from './lifecycle/worker-lifecycle.service.js';
import { WorkerModule } from './worker.module.js';

async function bootstrap(): Promise<void> {
  const app = await NestFactory.createMicroservice<AsyncMicroserviceOptions>(WorkerModule, {
    inject: [ZeroMqServer],
    useFactory: (server: ZeroMqServer) => ({ strategy: server }),
    // Quiet until our own logger is set; a failed start throws (bad configuration, address in
    // use) and is reported once, below, instead of aborting the process.
    logger: false,
    abortOnError: false,
  });
  app.useLogger(app.get(ConsoleLogger));
  app.useGlobalPipes(eventValidationPipe());
  app.useGlobalFilters(new EventErrorsFilter());
  // SIGTERM/SIGINT: stop reading, let running handlers finish, log the summary, exit 0.
  app.enableShutdownHooks([], { useProcessExit: true });
  await app.listen();
  app.get(WorkerLifecycle).reportReady();
}

bootstrap().catch((error: unknown) => {
  console.error(`Worker failed to start: ${(error as Error)?.message ?? String(error)}`);
  process.exit(1);
});
