import { Controller, Get } from '@nestjs/common';
import { ClientConnections, type ClientHealth } from './client-connections.service.js';

@Controller('health')
export class HealthController {
  constructor(private readonly connections: ClientConnections) {}

  /** Liveness plus the ZeroMQ side: status, connections per socket, sent/failed/queued counters. */
  @Get()
  health(): { status: 'ok'; zeromq: ClientHealth } {
    return { status: 'ok', zeromq: this.connections.health() };
  }
}
