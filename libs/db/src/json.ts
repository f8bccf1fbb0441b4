// Postgres' jsonb cannot hold U+0000 nor unpaired UTF-16 surrogates, which JSON.stringify emits
// as \u escapes. One such character would fail a whole bulk insert, so each becomes U+FFFD.
// The leading group keeps an escaped backslash (`\\u0000` is text, not a NUL) untouched.
const UNSTORABLE = /(^|[^\\])((?:\\\\)*)\\u(?:0000|d[89ab][0-9a-f]{2}(?!\\ud[c-f][0-9a-f]{2})|(?<!\\ud[89ab][0-9a-f]{2})d[c-f][0-9a-f]{2})/gi;

/** Makes a JSON text storable as jsonb, replacing what Postgres refuses with U+FFFD. */
export function sanitizeJsonForPostgres(json: string): string {
  if (!json.includes('\\u')) return json;
  let previous: string;
  let current = json;
  // Adjacent matches share their boundary character, so repeat until nothing changes.
  do {
    previous = current;
    current = current.replace(UNSTORABLE, '$1$2\\ufffd');
  } while (current !== previous);
  return current;
}
