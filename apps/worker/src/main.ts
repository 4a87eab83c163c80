import { ConsoleLogger, type INestApplication, type INestMicroservice } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { NestFactory } from '@nestjs/core';
import type { AsyncMicroserviceOptions } from '@nestjs/microservices';
import { ZeroMqServer } from 'nestjs-zeromq';
import type { AddressInfo } from 'node:net';
import type { WorkerEnv } from './config/worker.env.js';
import { EventErrorsFilter, eventValidationPipe } from './events/event-validation.js';
import { WorkerLifecycle } from './lifecycle/worker-lifecycle.service.js';
import { WorkerModule } from './worker.module.js';

// Quiet until our own logger is set; a failed start throws (bad configuration, address in use)
// and is reported once, below, instead of aborting the process.
const QUIET = { logger: false, abortOnError: false } as const;

/** Validation and the rejected-event filter for the ZeroMQ handlers (not for HTTP routes). */
function setUpEvents(microservice: INestMicroservice): void {
  microservice.useGlobalPipes(eventValidationPipe());
  microservice.useGlobalFilters(new EventErrorsFilter());
}

/** A plain microservice: ZeroMQ only. */
async function startMicroservice(): Promise<void> {
  const app = await NestFactory.createMicroservice<AsyncMicroserviceOptions>(WorkerModule, {
    inject: [ZeroMqServer],
    useFactory: (server: ZeroMqServer) => ({ strategy: server }),
    ...QUIET,
  });
  app.useLogger(app.get(ConsoleLogger));
  setUpEvents(app);
  // SIGTERM/SIGINT: stop reading, let running handlers finish, log the summary, exit 0.
  app.enableShutdownHooks([], { useProcessExit: true });
  await app.listen();
  app.get(WorkerLifecycle).reportReady();
}

/** A hybrid app (WORKER_HTTP_PORT set): the same ZeroMQ server, plus `/health` and `/metrics` over HTTP. */
async function startHybrid(): Promise<void> {
  const app: INestApplication = await NestFactory.create(WorkerModule, QUIET);
  app.useLogger(app.get(ConsoleLogger));
  setUpEvents(app.connectMicroservice({ strategy: app.get(ZeroMqServer) }));
  // SIGTERM/SIGINT: stop HTTP and reading, let running handlers finish, log the summary, exit 0.
  app.enableShutdownHooks([], { useProcessExit: true });
  await app.startAllMicroservices();
  const config = app.get(ConfigService<WorkerEnv, true>);
  await app.listen(config.get('WORKER_HTTP_PORT', { infer: true })!, config.get('WORKER_HTTP_HOST', { infer: true }));
  const { address, port } = app.getHttpServer().address() as AddressInfo;
  app.get(WorkerLifecycle).reportReady(`http://${address}:${port}`);
}

(process.env.WORKER_HTTP_PORT === undefined ? startMicroservice() : startHybrid()).catch((error: unknown) => {
  console.error(`Worker failed to start: ${(error as Error)?.message ?? String(error)}`);
  process.exit(1);
});
