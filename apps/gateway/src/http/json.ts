import { InvalidJsonError, InvalidRequestError } from '@evt/errors';

/** Deeper JSON is refused: nothing real nests this far, and deeper would overflow recursive code. */
export const MAX_JSON_DEPTH = 128;

/** What one pass over a JSON text tells before it is parsed. */
export const enum JsonTextFacts {
  None = 0,
  /** Objects and arrays nest deeper than the limit. */
  TooDeep = 1,
  /**
   * A string holds a `\u` escape, or a number has an exponent or 300 digits in a row: only these
   * can put what Postgres cannot keep into the parsed value (NUL and lone surrogates come only from
   * escapes, since raw control bytes are not JSON and bad UTF-8 decodes to U+FFFD; Infinity only
   * from an exponent or a very long number).
   */
  MayBeUnstorable = 2,
}

const BACKSLASH = 0x5c;
const QUOTE = 0x22;
const U = 0x75;
const ZERO = 0x30;
const NINE = 0x39;
// Fewer digits than this cannot reach Number.MAX_VALUE (about 1.8e308).
const LONGEST_SAFE_DIGITS = 300;

/** One pass over a JSON text (strings skipped but for their escapes): see JsonTextFacts. */
export function jsonTextFacts(bytes: Uint8Array, depthLimit: number): JsonTextFacts {
  let facts = JsonTextFacts.None;
  let depth = 0;
  let inString = false;
  let digits = 0;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i];
    if (inString) {
      if (c === BACKSLASH) {
        if (bytes[i + 1] === U) facts |= JsonTextFacts.MayBeUnstorable;
        i++; // skip the escaped character
      } else if (c === QUOTE) inString = false;
      continue;
    }
    if (c >= ZERO && c <= NINE) {
      if (++digits >= LONGEST_SAFE_DIGITS) facts |= JsonTextFacts.MayBeUnstorable;
      continue;
    }
    // An exponent follows a digit (the e of true and false never does).
    if ((c === 0x65 || c === 0x45) && digits > 0) facts |= JsonTextFacts.MayBeUnstorable;
    digits = 0;
    if (c === QUOTE) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > depthLimit) return facts | JsonTextFacts.TooDeep;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return facts;
}

/** True when the JSON text nests objects and arrays deeper than `limit` (strings are skipped). */
export function nestedDeeperThan(bytes: Uint8Array, limit: number): boolean {
  return (jsonTextFacts(bytes, limit) & JsonTextFacts.TooDeep) !== 0;
}

// Values parsed by parseJson from a text without JsonTextFacts.MayBeUnstorable.
const STORABLE = new WeakSet<object>();

/**
 * True when `value` is a body parsed by parseJson whose text could hold nothing Postgres cannot
 * keep: the walk over its every value (unstorableValueReason) can be skipped. False when unknown:
 * then the walk runs.
 */
export function knownStorable(value: unknown): boolean {
  return typeof value === 'object' && value !== null && STORABLE.has(value);
}

/** Parses a body as JSON whatever its Content-Type says (SDKs label JSON as form or text). */
export function parseJson(bytes: Buffer): unknown {
  if (bytes.length === 0) throw new InvalidJsonError();
  const facts = jsonTextFacts(bytes, MAX_JSON_DEPTH);
  if (facts & JsonTextFacts.TooDeep) throw new InvalidRequestError(`JSON nested deeper than ${MAX_JSON_DEPTH} levels`);
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw new InvalidJsonError({ cause: error });
  }
  if (!(facts & JsonTextFacts.MayBeUnstorable) && typeof value === 'object' && value !== null) STORABLE.add(value);
  return value;
}
