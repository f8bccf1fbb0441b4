/**
 * What Postgres can keep exactly. Identifiers become keys and indexed columns, whose btree entries
 * are limited to about 2.7 kB: a bound well inside that keeps every key (three ids in `aliases`)
 * storable. Text and jsonb cannot hold U+0000, and UTF-8 cannot encode an unpaired surrogate:
 * Postgres would refuse the first and the encoder would turn the second into U+FFFD, which would
 * make two distinct ids one. Such values are refused with a reason, never changed (docs/reliability.md).
 */
export const MAX_ID_BYTES = 1024;

/** Why `id` cannot be stored exactly as an identifier, or undefined when it can. */
export function idProblem(id: string): string | undefined {
  // Three UTF-8 bytes at most per UTF-16 unit: short ids need no counting.
  if (id.length * 3 > MAX_ID_BYTES && Buffer.byteLength(id) > MAX_ID_BYTES) return `is longer than ${MAX_ID_BYTES} bytes`;
  return textProblem(id);
}

const NUL = 'contains NUL (U+0000), which Postgres cannot store';
const UNPAIRED = 'contains an unpaired UTF-16 surrogate, which UTF-8 cannot encode';
const NOT_FINITE = 'is a number too large to store';

/** Why a string cannot be stored exactly in Postgres (NUL, unpaired surrogate), or undefined when it can. */
export function textProblem(text: string): string | undefined {
  if (text.includes('\u0000')) return NUL;
  if (!text.isWellFormed()) return UNPAIRED;
  return undefined;
}

/** Why a number cannot be stored exactly (JSON.parse reads 1e400 as Infinity, which jsonb cannot hold), or undefined when it can. */
export function numberProblem(value: number): string | undefined {
  return Number.isFinite(value) ? undefined : NOT_FINITE;
}

/**
 * True when a rejection's reason says the event held what Postgres cannot keep: its trace in
 * rejected_events has U+FFFD (or null) in that place, so retrying it would store an altered event.
 */
export function isUnstorableReason(reason: string): boolean {
  return reason.endsWith(NUL) || reason.endsWith(UNPAIRED) || reason.endsWith(NOT_FINITE);
}

/** Where the walk found something unstorable: the keys from there up to the root, innermost first. */
interface Found {
  problem: string;
  inKey: boolean;
  trail: string[];
}

// Allocates nothing until it finds a problem: it runs on every accepted event.
function find(value: unknown): Found | undefined {
  if (typeof value === 'string') {
    const problem = textProblem(value);
    return problem === undefined ? undefined : { problem, inKey: false, trail: [] };
  }
  if (typeof value === 'number') {
    const problem = numberProblem(value);
    return problem === undefined ? undefined : { problem, inKey: false, trail: [] };
  }
  if (typeof value !== 'object' || value === null) return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = find(value[i]);
      if (found !== undefined) {
        found.trail.push(String(i));
        return found;
      }
    }
    return undefined;
  }
  for (const key in value) {
    const keyProblem = textProblem(key);
    if (keyProblem !== undefined) return { problem: keyProblem, inKey: true, trail: [] };
    const found = find((value as Record<string, unknown>)[key]);
    if (found !== undefined) {
      found.trail.push(key);
      return found;
    }
  }
  return undefined;
}

/**
 * The first place in a parsed JSON value that Postgres' jsonb cannot keep exactly, as a reason
 * (`properties.name contains NUL …`), or undefined. Keys are checked as well as values; numbers
 * must be finite (JSON.parse reads 1e400 as Infinity, which would be stored as null). `path`
 * names `value` itself in the reason.
 */
export function unstorableValueReason(value: unknown, path = ''): string | undefined {
  const found = find(value);
  if (found === undefined) return undefined;
  const at = [...(path === '' ? [] : [path]), ...found.trail.reverse()].join('.') || 'event';
  return found.inKey ? `a key of ${at} ${found.problem}` : `${at} ${found.problem}`;
}
