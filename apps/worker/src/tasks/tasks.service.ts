import { Injectable, Logger } from '@nestjs/common';
import { HasherService } from '../work/hasher.service.js';
import { WorkStats } from '../work/work-stats.service.js';
import { PLAIN_TASK } from './plain-task.js';

const SHOWN_TEXT_LENGTH = 80;

@Injectable()
export class TasksService {
  private readonly logger = new Logger(TasksService.name);

  constructor(
    private readonly hasher: HasherService,
    private readonly stats: WorkStats,
  ) {}

  /** Digests a text task from a plain ZeroMQ producer. */
  async process(text: string, socket: string): Promise<void> {
    const digest = await this.hasher.digest(text);
    this.stats.record(PLAIN_TASK);
    this.logger.debug(`Plain task ${JSON.stringify(text.slice(0, SHOWN_TEXT_LENGTH))} from socket "${socket}" processed: digest ${digest}`);
  }
}
