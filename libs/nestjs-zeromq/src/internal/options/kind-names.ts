import type { ZeroMqSocketKind } from '../../zeromq.options.js';

/** The socket kinds options may name, as the schema's enum takes them. */
export const SOCKET_KIND_NAMES = ['push-pull', 'dealer-router', 'pub-sub'] as const satisfies readonly ZeroMqSocketKind[];

/** A kind added to `ZeroMqSocketKind` and not listed above fails the build here. */
type Unlisted = Exclude<ZeroMqSocketKind, (typeof SOCKET_KIND_NAMES)[number]>;
export const SOCKET_KIND_NAMES_COMPLETE: [Unlisted] extends [never] ? true : never = true;
