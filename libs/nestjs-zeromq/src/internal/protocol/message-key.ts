import type { PacketMetadata } from '@nestjs/microservices';

/**
 * The metadata names a message's key and expiry travel under (docs/protocol.md, "Keys and
 * expiry"): optional, so that a plain peer may set them or leave them out, and a peer that does
 * not know them reads them as any other metadata.
 */
export const KEY_METADATA = 'nz-key';
export const EXPIRES_AT_METADATA = 'nz-expires-at';

/** Longest key, in UTF-16 code units; a longer one is refused at emit. */
export const MAX_KEY_LENGTH = 256;

/** The message's key, if its metadata has one. */
export function keyOf(metadata: PacketMetadata | undefined): string | undefined {
  const key: unknown = metadata?.[KEY_METADATA];
  return typeof key === 'string' && key.length > 0 ? key : undefined;
}

/** When the message expires (milliseconds since the epoch), if its metadata says so in decimal digits. */
export function expiresAtOf(metadata: PacketMetadata | undefined): number | undefined {
  const text: unknown = metadata?.[EXPIRES_AT_METADATA];
  return typeof text === 'string' && /^\d{1,16}$/.test(text) ? Number(text) : undefined;
}

/** `metadata` with the key and expiry added (as they are: left out when undefined). */
export function withKeyAndExpiry(
  metadata: PacketMetadata | undefined,
  key: string | undefined,
  expiresAt: number | undefined,
): PacketMetadata {
  const added: PacketMetadata = { ...metadata };
  if (key !== undefined) {
    added[KEY_METADATA] = key;
  }
  if (expiresAt !== undefined) {
    added[EXPIRES_AT_METADATA] = String(expiresAt);
  }
  return added;
}

/** The reason a worker refuses an expired delivery with (`x`), and the producer's dead-letter reason for one. */
export const EXPIRED = 'expired';
