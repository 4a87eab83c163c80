import { ClientProxy, type MsPattern } from '@nestjs/microservices';

type Normalize = (pattern: MsPattern) => string;

// Nest files handlers under its own normalization of their patterns (object patterns become
// key-sorted JSON). It is reached through the public ClientProxy class, whose protected
// normalizePattern() uses no instance state, rather than through Nest's utils folder, which is
// not public API. nest-pattern.spec.ts fails if Nest's result and this one part ways.
const nestNormalizePattern = (ClientProxy.prototype as unknown as { normalizePattern?: Normalize }).normalizePattern;

/** A pattern as Nest keys its handlers: strings as they are, objects as key-sorted JSON. */
export function normalizePattern(pattern: MsPattern): string {
  if (typeof nestNormalizePattern !== 'function') {
    throw new Error('@nestjs/microservices no longer has ClientProxy#normalizePattern; this nestjs-zeromq release does not support that Nest version');
  }
  return nestNormalizePattern.call(ClientProxy.prototype, pattern);
}
