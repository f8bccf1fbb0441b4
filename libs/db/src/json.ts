// Postgres' jsonb cannot hold U+0000 nor unpaired UTF-16 surrogates, which JSON.stringify emits
// as \u escapes. One such character would fail a whole bulk insert, so each becomes U+FFFD.
// The scan goes left to right and takes an escaped backslash (`\\`) as one token, so the text
// `\\u0000` (a backslash, then "u0000") is never mistaken for an escape.
const ESCAPES = /\\\\|\\u(d[89ab][0-9a-f]{2})\\u(d[c-f][0-9a-f]{2})|\\u([0-9a-f]{4})/gi;

function unstorable(hex: string): boolean {
  return hex === '0000' || /^d[89a-f]/i.test(hex);
}

/** Makes a JSON text storable as jsonb, replacing what Postgres refuses with U+FFFD. */
export function sanitizeJsonForPostgres(json: string): string {
  if (!json.includes('\\u')) return json;
  return json.replace(ESCAPES, (token, _high?: string, _low?: string, single?: string) => (single !== undefined && unstorable(single) ? '\\ufffd' : token));
}
