/**
 * Z85, ZeroMQ's text encoding of binary keys (ZeroMQ RFC 32): every 4 bytes become 5 characters
 * of an 85-character alphabet. zeromq.js reads and writes CURVE keys as Z85 but exposes no codec,
 * and ZAP hands over a client's key as 32 raw bytes.
 */
const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#';
const VALUES = new Map([...ALPHABET].map((char, index) => [char, index]));
const MAX_CHUNK = 0xffff_ffff;

/** Encodes bytes whose length is a multiple of 4. */
export function z85Encode(bytes: Uint8Array): string {
  if (bytes.length % 4 !== 0) {
    throw new RangeError(`Z85 encodes a multiple of 4 bytes, not ${bytes.length}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let text = '';
  for (let offset = 0; offset < bytes.length; offset += 4) {
    let value = view.getUint32(offset);
    let chunk = '';
    for (let i = 0; i < 5; i++) {
      chunk = ALPHABET[value % 85] + chunk;
      value = Math.floor(value / 85);
    }
    text += chunk;
  }
  return text;
}

/** Decodes Z85 text; undefined if the length is not a multiple of 5 or a character or chunk is invalid. */
export function z85Decode(text: string): Buffer | undefined {
  if (text.length % 5 !== 0) {
    return undefined;
  }
  const bytes = Buffer.alloc((text.length / 5) * 4);
  for (let offset = 0; offset < text.length; offset += 5) {
    let value = 0;
    for (let i = 0; i < 5; i++) {
      const digit = VALUES.get(text[offset + i]);
      if (digit === undefined) {
        return undefined;
      }
      value = value * 85 + digit;
    }
    // Five characters can express more than 32 bits: such text is no encoding of any bytes.
    if (value > MAX_CHUNK) {
      return undefined;
    }
    bytes.writeUInt32BE(value, (offset / 5) * 4);
  }
  return bytes;
}
