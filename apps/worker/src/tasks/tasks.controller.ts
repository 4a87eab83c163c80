import { Controller } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import type { ZeroMqContext } from 'nestjs-zeromq';
import { PLAIN_TASK, plainTaskSchema } from './plain-task.js';
import { TasksService } from './tasks.service.js';

@Controller()
export class TasksController {
  constructor(private readonly tasks: TasksService) {}

  /** Receives every single-frame message (server option `plainMessages`), decoded as UTF-8 text. */
  @EventPattern<string>(PLAIN_TASK)
  async onPlainTask(@Payload({ schema: plainTaskSchema }) text: string, @Ctx() context: ZeroMqContext): Promise<void> {
    await this.tasks.process(text, context.getSocketName());
  }
}
