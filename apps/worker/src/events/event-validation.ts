import { Catch, Logger, StandardSchemaValidationPipe, type ArgumentsHost } from '@nestjs/common';
import { BaseRpcExceptionFilter, RpcException } from '@nestjs/microservices';
import type { ZeroMqContext } from 'nestjs-zeromq';
import type { Observable } from 'rxjs';

/** Checks each `@Payload({ schema })` and rejects a bad event with an RpcException listing why. */
export function eventValidationPipe(): StandardSchemaValidationPipe {
  return new StandardSchemaValidationPipe({
    exceptionFactory: (issues) =>
      new RpcException(
        issues
          .map((issue) => {
            const path = (issue.path ?? []).map((segment) => String(typeof segment === 'object' ? segment.key : segment));
            return path.length > 0 ? `${path.join('.')}: ${issue.message}` : issue.message;
          })
          .join('; '),
      ),
  });
}

/**
 * Logs every event whose handler did not complete, with its pattern: a rejected payload as a
 * warning, anything else as an error with its stack. The server counts it as failed.
 */
@Catch()
export class EventErrorsFilter extends BaseRpcExceptionFilter {
  private readonly logger = new Logger('Events');

  override catch(exception: unknown, host: ArgumentsHost): Observable<unknown> {
    const pattern = host.switchToRpc().getContext<ZeroMqContext>().getPattern();
    if (exception instanceof RpcException) {
      this.logger.warn(`Rejected a "${pattern}" event: ${String(exception.getError())}`);
    } else {
      this.logger.error(`The "${pattern}" handler failed`, (exception as Error)?.stack ?? String(exception));
    }
    return super.catch(exception instanceof RpcException ? exception : new RpcException('handler failed'), host);
  }
}
