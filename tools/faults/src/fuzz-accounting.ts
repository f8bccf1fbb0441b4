import { rowsWithIds, type IsolatedStack } from '@evt/testing';

// Every event of every request the fuzz run got 200 for must be stored or in rejected_events with
// a reason. To find them, each event object of a JSON body gets a marker, `fzm_<run>_<n>`, in a
// place that is stored (top level; rETL fields; internal batch payloads; list members) before the
// body is encoded. Bodies that are not valid UTF-8 JSON are sent as generated and not tracked.

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

/** The events of one request, by marker, with the ids a deduplicated copy would be found by. */
export interface MarkedBody {
  body: Buffer;
  events: Array<{ marker: string; table: 'events' | 'retl_records' | 'audience_members'; id?: string }>;
}

const BATCH_PATHS = ['/v1/batch', '/v1/import', '/v1/b', '/beacon/v1/batch', '/internal/v1/replay'];

/** Marks the events of `body` sent to `path`; an untrackable body comes back unchanged with no events. */
export function markEvents(path: string, body: Buffer, nextMarker: () => string): MarkedBody {
  const route = path.split('?')[0];
  if (route.startsWith('/pixel/')) return { body, events: [] }; // pixel events come from the query string
  let parsed: unknown;
  try {
    const text = body.toString('utf8');
    if (!Buffer.from(text).equals(body)) return { body, events: [] };
    parsed = JSON.parse(text);
  } catch {
    return { body, events: [] };
  }
  const events: MarkedBody['events'] = [];
  const idOf = (event: Json, field: string) => (typeof event[field] === 'string' || typeof event[field] === 'number' ? String(event[field]) : undefined);
  const mark = (event: Json, table: MarkedBody['events'][number]['table'] = 'events', id = idOf(event, 'messageId')) => {
    const marker = nextMarker();
    event.fuzzMarker = marker;
    events.push({ marker, table, id });
    return marker;
  };
  if (BATCH_PATHS.includes(route)) {
    if (isObject(parsed) && Array.isArray(parsed.batch)) for (const event of parsed.batch) if (isObject(event)) mark(event);
  } else if (route === '/internal/v1/retl') {
    if (isObject(parsed) && Array.isArray(parsed.batch)) {
      for (const record of parsed.batch) {
        if (!isObject(record)) continue;
        // Only the record's fields are stored (traits or properties for event types): the marker goes there too.
        const key = record.type === 'record' ? 'fields' : record.traits !== undefined ? 'traits' : 'properties';
        if (record[key] !== undefined && !isObject(record[key])) continue;
        const marker = mark(record, 'retl_records', idOf(record, 'recordId') ?? idOf(record, 'messageId'));
        record[key] = { ...(record[key] as Json | undefined), fuzzMarker: marker };
      }
    }
  } else if (route === '/internal/v1/batch') {
    if (Array.isArray(parsed)) {
      for (const item of parsed) {
        if (!isObject(item)) continue;
        const marker = mark(item, 'events', isObject(item.payload) ? idOf(item.payload, 'messageId') : undefined);
        if (isObject(item.payload)) item.payload.fuzzMarker = marker;
      }
    }
  } else if (route === '/internal/v1/audiencelist') {
    // Members are what is stored: each list member object carries the marker; the list too, for rejected_events.
    if (isObject(parsed)) {
      const listData = isObject(parsed.properties) && isObject(parsed.properties.listData) ? parsed.properties.listData : undefined;
      const members = [listData?.add, listData?.remove].flatMap((list) => (Array.isArray(list) ? list.filter(isObject) : []));
      if (members.length > 0) {
        const marker = mark(parsed, 'audience_members');
        for (const member of members) member.fuzzMarker = marker;
      }
    }
  } else if (isObject(parsed)) {
    mark(parsed);
  }
  if (events.length === 0) return { body, events };
  try {
    return { body: Buffer.from(JSON.stringify(parsed)), events };
  } catch {
    return { body, events: [] }; // nested too deep to serialise again: sent as generated (the gateway refuses it)
  }
}

/** What became of the marked events of the requests answered 200. */
export interface FuzzAccount {
  /** Marked events in requests answered 200. */
  acknowledged: number;
  stored: number;
  /** Not found by marker, but their messageId / recordId is stored: a duplicate id, deduplicated as it should be. */
  deduplicated: number;
  rejected: number;
  /** Neither: a few examples. */
  unaccounted: string[];
  unaccountedCount: number;
}

/** Looks every marked event of the 200-answered requests up in Postgres. */
export async function accountFuzz(
  stack: IsolatedStack,
  run: string,
  acknowledged: Array<{ path: string; events: MarkedBody['events'] }>,
): Promise<FuzzAccount> {
  const pattern = `fzm_${run}_[0-9]+`;
  const like = `%fzm\\_${run}\\_%`;
  const markers = async (table: string, column: string, where = 'TRUE') =>
    new Set(
      (
        await stack.db.query<{ marker: string }>(
          `SELECT DISTINCT m[1] AS marker FROM ${table}, regexp_matches(coalesce(${column}::text, ''), '${pattern}', 'g') AS m WHERE ${where} AND coalesce(${column}::text, '') LIKE $1`,
          [like],
        )
      ).map((row) => row.marker),
    );
  const stored = {
    events: await markers('events', 'payload'),
    retl_records: await markers('retl_records', 'fields'),
    audience_members: await markers('audience_members', 'member'),
  };
  const rejected = await markers('rejected_events', 'event', "btrim(reason) <> ''");
  const account: FuzzAccount = { acknowledged: 0, stored: 0, deduplicated: 0, rejected: 0, unaccounted: [], unaccountedCount: 0 };
  const missing: Array<{ path: string; event: MarkedBody['events'][number] }> = [];
  for (const { path, events } of acknowledged) {
    for (const event of events) {
      account.acknowledged++;
      if (stored[event.table].has(event.marker)) account.stored++;
      else if (rejected.has(event.marker)) account.rejected++;
      else missing.push({ path, event });
    }
  }
  // An event whose id another event of the run had already taken is deduplicated (events) or upserted over (rETL).
  const ids = missing.map(({ event }) => event.id).filter((id): id is string => id !== undefined && !id.includes('\u0000') && id.isWellFormed());
  const storedIds = new Set(
    (
      await rowsWithIds(
        stack.db,
        ids.flatMap((id) => [id, id.trim()]),
      )
    ).map((row) => row.id),
  );
  for (const { path, event } of missing) {
    if (event.id !== undefined && (storedIds.has(event.id) || storedIds.has(event.id.trim()))) {
      account.deduplicated++;
      continue;
    }
    account.unaccountedCount++;
    if (account.unaccounted.length < 20) account.unaccounted.push(`${path} ${event.marker} (${event.table}, id ${JSON.stringify(event.id)?.slice(0, 60)})`);
  }
  return account;
}
