import { ConsoleLogger, Module } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { ClientsModule } from '@nestjs/microservices';
import { TerminusModule } from '@nestjs/terminus';
import { ZeroMqClient, type ZeroMqClientOptions } from 'nestjs-zeromq';
import { ZeroMqHealthIndicator } from 'nestjs-zeromq/terminus';
import { createLogger } from '../../common/src/env.js';
import { MetricsController } from '../../common/src/observability/metrics.controller.js';
import { metricsRegistryProvider } from '../../common/src/observability/metrics-registry.js';
import { producerEnvSchema, type ProducerEnv } from './config/producer.env.js';
import { ClientConnections } from './health/client-connections.service.js';
import { HealthController } from './health/health.controller.js';
import { ordersClientOptions, ORDERS_CLIENT } from './orders/orders-client.js';
import { OrdersController } from './orders/orders.controller.js';
import { OrdersService } from './orders/orders.service.js';
import { PricesController } from './prices/prices.controller.js';
import { PricesService } from './prices/prices.service.js';

@Module({
  imports: [
    ConfigModule.forRoot({ isGlobal: true, validationSchema: producerEnvSchema }),
    TerminusModule,
    // Nest builds the client from these options and closes it at shutdown (queued orders are sent first).
    ClientsModule.registerAsync([
      {
        name: ORDERS_CLIENT,
        inject: [ConfigService],
        useFactory: (config: ConfigService<ProducerEnv, true>) => ({
          customClass: ZeroMqClient,
          options: ordersClientOptions({
            endpoints: config.get('PRODUCER_ENDPOINTS', { infer: true }),
            bind: config.get('PRODUCER_BIND', { infer: true }),
            exportEndpoints: config.get('PRODUCER_EXPORT_ENDPOINTS', { infer: true }),
            broadcastEndpoints: config.get('PRODUCER_BROADCAST_ENDPOINTS', { infer: true }),
            sendTimeout: config.get('PRODUCER_SEND_TIMEOUT', { infer: true }),
            delivery: config.get('PRODUCER_DELIVERY', { infer: true }),
            discovery: discoveryOptions(config),
            curve: curveOptions(config),
            outbox: outboxOptions(config),
          }),
        }),
      },
    ]),
  ],
  controllers: [OrdersController, PricesController, HealthController, MetricsController],
  providers: [
    {
      provide: ConsoleLogger,
      inject: [ConfigService],
      useFactory: (config: ConfigService<ProducerEnv, true>) =>
        createLogger('producer', {
          LOG_LEVEL: config.get('LOG_LEVEL', { infer: true }),
          LOG_FORMAT: config.get('LOG_FORMAT', { infer: true }),
        }),
    },
    OrdersService,
    PricesService,
    ClientConnections,
    ZeroMqHealthIndicator,
    metricsRegistryProvider,
  ],
})
export class ProducerModule {}

/** How tcp+dns:// and tcp+srv:// endpoints are resolved: the system's resolver unless set. */
function discoveryOptions(config: ConfigService<ProducerEnv, true>): ZeroMqClientOptions['discovery'] {
  const servers = config.get('PRODUCER_DISCOVERY_SERVERS', { infer: true });
  const interval = config.get('PRODUCER_DISCOVERY_INTERVAL', { infer: true });
  return { ...(servers === undefined ? {} : { servers }), ...(interval === undefined ? {} : { interval }) };
}

/** CURVE from the environment: on when a secret key file is set (the schema checks the server key is given once). */
function curveOptions(config: ConfigService<ProducerEnv, true>): ZeroMqClientOptions['curve'] {
  const secretKeyFile = config.get('PRODUCER_CURVE_SECRET_KEY_FILE', { infer: true });
  if (secretKeyFile === undefined) {
    return undefined;
  }
  const serverKey = config.get('PRODUCER_CURVE_SERVER_PUBLIC_KEY', { infer: true });
  const serverKeyFile = config.get('PRODUCER_CURVE_SERVER_PUBLIC_KEY_FILE', { infer: true });
  return { secretKey: { file: secretKeyFile }, serverPublicKey: serverKey ?? { file: serverKeyFile! } };
}

/** The durable outbox from the environment: on when PRODUCER_OUTBOX_PATH is set (the schema checks delivery is at-least-once). */
function outboxOptions(config: ConfigService<ProducerEnv, true>): ZeroMqClientOptions['outbox'] {
  const path = config.get('PRODUCER_OUTBOX_PATH', { infer: true });
  if (path === undefined) {
    return undefined;
  }
  const durability = config.get('PRODUCER_OUTBOX_DURABILITY', { infer: true });
  const maxBytes = config.get('PRODUCER_OUTBOX_MAX_BYTES', { infer: true });
  return { path, ...(durability === undefined ? {} : { durability }), ...(maxBytes === undefined ? {} : { maxBytes }) };
}
