/**
 * Rendezvous (highest random weight) hashing: a key goes to the candidate whose weight for it is
 * highest, each weight a hash of the key and the candidate's seed. It keeps no state, and when a
 * candidate joins or leaves only the keys it wins or won move (about 1/N of them): the set may
 * change anywhere, as DNS answers do, unlike jump hashing, which only handles removal at the end.
 */

/** 32-bit FNV-1a of a string's UTF-16 code units: the seed of a candidate, the hash of a key. */
export function hashText(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** murmur3's 32-bit finalizer: every input bit flips about half the output bits. */
function mix(value: number): number {
  let hash = value;
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return hash >>> 0;
}

/** The candidate that `key` goes to (undefined if there is none); `seedOf` gives a candidate's `hashText` of its name. */
export function rendezvousWinner<T>(key: string, candidates: readonly T[], seedOf: (candidate: T) => number): T | undefined {
  const keyHash = mix(hashText(key));
  let winner: T | undefined;
  let best = -1;
  for (const candidate of candidates) {
    const weight = mix(keyHash ^ seedOf(candidate));
    if (weight > best) {
      best = weight;
      winner = candidate;
    }
  }
  return winner;
}
