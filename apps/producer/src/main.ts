import { ConsoleLogger, Logger, StandardSchemaValidationPipe } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { NestFactory } from '@nestjs/core';
import type { ZeroMqClient } from 'nestjs-zeromq';
import type { AddressInfo } from 'node:net';
import { describeSockets } from '../../common/src/env.js';
import type { ProducerEnv } from './config/producer.env.js';
import { ORDERS_CLIENT } from './orders/orders-client.js';
import { ProducerModule } from './producer.module.js';

async function bootstrap(): Promise<void> {
  // Quiet until our own logger is set; a failed start throws and is reported once, below.
  const app = await NestFactory.create(ProducerModule, { logger: false, abortOnError: false });
  app.useLogger(app.get(ConsoleLogger));
  // Validates every @Body({ schema }) and answers 400 with the reasons.
  app.useGlobalPipes(new StandardSchemaValidationPipe());
  // SIGTERM/SIGINT: stop the HTTP server, send what is queued, close the sockets, exit 0.
  app.enableShutdownHooks([], { useProcessExit: true });
  const config = app.get(ConfigService<ProducerEnv, true>);
  await app.listen(config.get('PRODUCER_PORT', { infer: true }), config.get('PRODUCER_HOST', { infer: true }));
  const { address, port } = app.getHttpServer().address() as AddressInfo;
  const sockets = describeSockets(app.get<ZeroMqClient>(ORDERS_CLIENT).getAddresses());
  const mode = config.get('PRODUCER_BIND', { infer: true }) ? 'bound' : 'connecting';
  new Logger('Producer').log(`Ready: HTTP on http://${address}:${port}; ${sockets} (${mode})`);
}

bootstrap().catch((error: unknown) => {
  console.error(`Producer failed to start: ${(error as Error)?.message ?? String(error)}`);
  process.exit(1);
});
