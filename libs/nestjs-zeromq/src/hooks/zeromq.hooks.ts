import type { ClientProxy, ReadPacket } from '@nestjs/microservices';
import type { ZeroMqContext } from '../zeromq.context.js';
import { GATE_PROCESSING_HOOKS } from '../internal/server/hook-gates.js';
import type { ZeroMqServer } from '../zeromq.server.js';

/** Observers of a ZeroMqServer's handler runs (Nest's processing hooks). */
export interface ZeroMqProcessingHooks {
  /**
   * Before a handler runs: call `next()` to run it (for example inside a context that makes a
   * span active) and return what it returns.
   */
  start?: (context: ZeroMqContext, next: () => Promise<unknown>) => unknown;
  /** Once the handler, and for a request its response stream, has ended; once per start. */
  end?: (context: ZeroMqContext) => void;
  /**
   * While this returns false the hooks are skipped: handlers are called directly, without the
   * promise and closures of Nest's hooks (tracing passes "an SDK is registered"). Hooks set
   * without it, here or through `setOnProcessingStartHook` / `setOnProcessingEndHook`, always run.
   * @default always active
   */
  active?: () => boolean;
}

type StartHook = (transportId: unknown, context: unknown, done: () => Promise<unknown>) => unknown;
type EndHook = (transportId: unknown, context: unknown) => void;

/** The hook slots of Nest's Server and ClientProxy; each holds one hook. */
interface HookSlots {
  onProcessingStartHook: StartHook;
  onProcessingEndHook?: EndHook;
  onDispatchHook?: (packet: ReadPacket) => void;
}

/**
 * Adds processing hooks to a server next to those already set: Nest keeps one start and one end
 * hook per server, so metrics, tracing and your own hooks would otherwise replace each other.
 * Hooks added later run inside those added earlier.
 */
export function addProcessingHooks(server: ZeroMqServer, hooks: ZeroMqProcessingHooks): void {
  const slots = server as unknown as HookSlots;
  const { start, end, active } = hooks;
  const install = () => {
    if (start !== undefined) {
      const previous = slots.onProcessingStartHook;
      server.setOnProcessingStartHook((transportId, context, done) =>
        previous.call(server, transportId, context, () => start(context as ZeroMqContext, done) as Promise<unknown>),
      );
    }
    if (end !== undefined) {
      const previous = slots.onProcessingEndHook;
      server.setOnProcessingEndHook((transportId, context) => {
        end(context as ZeroMqContext);
        previous?.call(server, transportId, context);
      });
    }
  };
  if (active === undefined) {
    install();
  } else {
    server[GATE_PROCESSING_HOOKS](active, install);
  }
}

/**
 * Adds a dispatch hook to a client next to the one already set (Nest keeps one per client). It is
 * called with every outgoing packet, emits and requests alike, and may set `packet.metadata`.
 */
export function addDispatchHook(client: ClientProxy, hook: (packet: ReadPacket) => void): void {
  const previous = (client as unknown as HookSlots).onDispatchHook;
  client.setOnDispatchHook(
    previous === undefined
      ? hook
      : (packet) => {
          previous.call(client, packet);
          hook(packet);
        },
  );
}
