import secureJson from 'secure-json-parse';

const PROTOTYPE_KEY_MESSAGE = 'forbidden prototype property';

/**
 * Parses JSON from a peer. `JSON.parse` keeps a `"__proto__"` key as an own property, which a
 * handler that merges or `Object.assign`s the payload turns into a prototype change (or, through a
 * careless deep merge, into pollution of `Object.prototype`). Such payloads, and
 * `constructor.prototype` ones, are refused (`'error'`) or have those keys removed (`'remove'`).
 * Costs one regular-expression scan of the text on top of `JSON.parse`. `error` completes a
 * sentence: "payload " + error.
 */
export function parsePeerJson(text: string, prototypeKeys: 'error' | 'remove' = 'error'): { value: unknown } | { error: string } {
  try {
    return { value: secureJson.parse(text, undefined, { protoAction: prototypeKeys, constructorAction: prototypeKeys }) };
  } catch (error) {
    return {
      error: (error as Error).message.includes(PROTOTYPE_KEY_MESSAGE)
        ? 'has a "__proto__" or "constructor.prototype" key (refused: prototype pollution)'
        : 'is not valid JSON',
    };
  }
}
