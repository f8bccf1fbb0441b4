import { createHash, randomUUID } from 'node:crypto';

// Whitespace, control characters, zero-width and bidi marks, BOM: invisible, so never part of an id.
const INVISIBLE_EDGES =
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is matched
  /^[\s\u0000-\u001f\u007f-\u009f\u00ad\u200b-\u200f\u2028-\u202f\u2060-\u206f\ufeff]+|[\s\u0000-\u001f\u007f-\u009f\u00ad\u200b-\u200f\u2028-\u202f\u2060-\u206f\ufeff]+$/g;

/** The client's messageId without invisible characters at either end, or a new UUID v4 when none is left. */
export function cleanMessageId(value: unknown): string {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value === 'string') {
    const cleaned = value.replace(INVISIBLE_EDGES, '');
    if (cleaned !== '') return cleaned;
  }
  return randomUUID();
}

// rudderIds of the identities seen lately: a batch (and an SDK's next batches) is mostly one
// person, and md5 is the dearest step of enrichment. Emptied when full, so it stays bounded.
const RUDDER_IDS = new Map<string, string>();
const RUDDER_IDS_MAX = 10_000;

/**
 * RudderStack's rudderId: md5 of `"<userId>:<anonymousId>"` laid out as a UUID with the
 * version-4 and RFC 4122 variant bits set, so the same person gets the same id everywhere.
 */
export function rudderId(userId: string | undefined, anonymousId: string | undefined): string {
  const identity = `${userId ?? ''}:${anonymousId ?? ''}`;
  const known = RUDDER_IDS.get(identity);
  if (known !== undefined) return known;
  const bytes = createHash('md5').update(identity).digest();
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  const id = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  if (RUDDER_IDS.size >= RUDDER_IDS_MAX) RUDDER_IDS.clear();
  RUDDER_IDS.set(identity, id);
  return id;
}

/** Ids arrive as strings or numbers; they are stored as strings. Empty means absent. */
export function idToString(value: unknown): string | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value === 'string' && value !== '') return value;
  return undefined;
}

/** A short id for what `parts` name (32 hex characters of SHA-256): the same parts give the same id on every retry. */
export function stableId(parts: string[]): string {
  return createHash('sha256').update(parts.join('\n')).digest('hex').slice(0, 32);
}
