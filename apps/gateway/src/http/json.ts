import { InvalidJsonError, InvalidRequestError } from '@evt/errors';

/** Deeper JSON is refused: nothing real nests this far, and deeper would overflow recursive code. */
export const MAX_JSON_DEPTH = 128;

/** True when the JSON text nests objects and arrays deeper than `limit` (strings are skipped). */
export function nestedDeeperThan(bytes: Uint8Array, limit: number): boolean {
  if (bytes.length <= 2 * limit) return false; // each level needs an opening and a closing byte
  let depth = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i];
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > limit) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}

/** Parses a body as JSON whatever its Content-Type says (SDKs label JSON as form or text). */
export function parseJson(bytes: Buffer): unknown {
  if (bytes.length === 0) throw new InvalidJsonError();
  if (nestedDeeperThan(bytes, MAX_JSON_DEPTH)) throw new InvalidRequestError(`JSON nested deeper than ${MAX_JSON_DEPTH} levels`);
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw new InvalidJsonError({ cause: error });
  }
}
