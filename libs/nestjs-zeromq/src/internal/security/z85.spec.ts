import { randomBytes } from 'node:crypto';
import * as zmq from 'zeromq';
import { z85Decode, z85Encode } from './z85.js';
import { publicKeyOf } from './curve-keys.js';

describe('Z85', () => {
  it('matches the test vector of ZeroMQ RFC 32', () => {
    const bytes = Buffer.from([0x86, 0x4f, 0xd2, 0x6f, 0xb5, 0x59, 0xf7, 0x5b]);
    expect(z85Encode(bytes)).toBe('HelloWorld');
    expect(z85Decode('HelloWorld')).toEqual(bytes);
  });

  it('round-trips random keys', () => {
    for (let i = 0; i < 100; i++) {
      const key = randomBytes(32);
      expect(z85Decode(z85Encode(key))).toEqual(key);
    }
  });

  it.each([
    ['a length that is not a multiple of 5', 'Hello'.repeat(7) + 'ab'],
    ['a character outside the alphabet', 'Hello'.repeat(7) + 'Wor~d'],
    ['a chunk above 32 bits', '#####'],
  ])('rejects %s', (_what, text) => {
    expect(z85Decode(text)).toBeUndefined();
  });

  it('refuses to encode a length that is not a multiple of 4', () => {
    expect(() => z85Encode(Buffer.alloc(3))).toThrow(RangeError);
  });

  it('derives the public key libzmq pairs with a secret key', () => {
    for (let i = 0; i < 20; i++) {
      const { publicKey, secretKey } = zmq.curveKeyPair();
      expect(publicKeyOf(secretKey)).toBe(publicKey);
    }
  });
});
