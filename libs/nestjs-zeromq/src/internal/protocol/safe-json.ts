import secureJson from 'secure-json-parse';

const PROTOTYPE_KEY_MESSAGE = 'forbidden prototype property';

/**
 * Parses JSON from a peer. `JSON.parse` keeps a `"__proto__"` key as an own property, which a
 * handler that merges or `Object.assign`s the payload turns into a prototype change (or, through a
 * careless deep merge, into pollution of `Object.prototype`). Such payloads, and
 * `constructor.prototype` ones, are refused (`'error'`) or have those keys removed (`'remove'`).
 * Text that cannot hold such a key (see `mayHidePrototypeKeys`) goes to `JSON.parse` alone: the
 * regular-expression scans cost a third more than the parse at ~100 B. `error` completes a
 * sentence: "payload " + error.
 */
export function parsePeerJson(text: string, prototypeKeys: 'error' | 'remove' = 'error'): { value: unknown } | { error: string } {
  try {
    return {
      value: mayHidePrototypeKeys(text)
        ? secureJson.parse(text, undefined, { protoAction: prototypeKeys, constructorAction: prototypeKeys })
        : JSON.parse(text),
    };
  } catch (error) {
    return {
      error: (error as Error).message.includes(PROTOTYPE_KEY_MESSAGE)
        ? 'has a "__proto__" or "constructor.prototype" key (refused: prototype pollution)'
        : 'is not valid JSON',
    };
  }
}

/**
 * Whether the text may spell a `"__proto__"` or `"constructor"` key: literally, or with `\u`
 * escapes (the only other way JSON can write those letters), or behind a byte-order mark, which
 * secure-json-parse strips and `JSON.parse` refuses. A few `indexOf` scans, far cheaper than the
 * pattern scans they spare.
 */
function mayHidePrototypeKeys(text: string): boolean {
  return text.charCodeAt(0) === 0xfeff || text.includes('__') || text.includes('constructor') || text.includes('\\u');
}
