/**
 * How `addProcessingHooks(server, { active })` tells a ZeroMqServer that the hooks it installs
 * only matter while `active()` is true (tracing: while an SDK is registered). While no hook is
 * active, and nobody set a hook of their own, the server calls handlers directly: the hooks'
 * promise and closures cost about as much as the rest of the path at ~100 B. ZeroMqServer's
 * method under this symbol runs `install` (which sets the hooks) as hooks gated by `active`.
 */
export const GATE_PROCESSING_HOOKS = Symbol('nestjs-zeromq: gated processing hooks');
