import http from 'node:http';
import type { DbClient } from '@evt/db';
import { readQueueDepths, type QueueDepth } from '@evt/queue';
import type { PoisonItem, PoisonRequest } from './poison-traffic';

/** A poison request and what the gateway answered (`no answer` when it did not within the timeout). */
export interface SentPoison {
  request: PoisonRequest;
  status: number | 'no answer';
  answer: string;
}

/** Sends one poison request over its own connection; no answer within `timeoutMs` is reported, not thrown. */
export function sendPoison(url: string, request: PoisonRequest, timeoutMs = 20_000): Promise<SentPoison> {
  return new Promise((resolve) => {
    const body = Buffer.from(request.body);
    let settled = false;
    const settle = (status: SentPoison['status'], answer: string) => {
      if (!settled) resolve({ request, status, answer });
      settled = true;
    };
    const sent = http.request(
      `${url}${request.path}`,
      { method: 'POST', agent: false, headers: { ...request.headers, 'content-length': String(body.length) }, timeout: timeoutMs },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => settle(response.statusCode ?? 0, Buffer.concat(chunks).toString('utf8')));
        response.on('error', (error) => settle(response.statusCode ?? 0, error.message));
      },
    );
    sent.on('timeout', () => sent.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    sent.on('error', (error) => settle('no answer', error.message));
    sent.end(body);
  });
}

/** What became of the poison traffic, event by event. Each list holds one line per event: route, what it was, what happened. */
export interface PoisonAccount {
  good: {
    /** Good events whose request was answered 200. */
    acknowledged: number;
    /** Of those, stored exactly once under their source and id. */
    stored: number;
    lost: string[];
    duplicated: string[];
    /** Good events refused (400) only because a hostile event shared their request. */
    refused: string[];
    /** Good identify and group events whose users or groups row is missing. */
    profilesMissing: string[];
  };
  hostile: {
    sent: number;
    /** Stored once, equal to JSON.parse of the text sent. */
    storedExactly: number;
    /**
     * Not stored itself, but a row with its id is under its source: another event with the same
     * id took its place (events keep the first of a messageId, rETL records the latest write of a
     * recordId). Repetitive hostile ids (`"a"` × 1,024) collide often.
     */
    deduplicated: number;
    /** In rejected_events with a non-empty reason. */
    rejected: number;
    /** The whole request was answered 400 with a reason. */
    refused: number;
    unaccounted: string[];
  };
  /** Requests answered other than 200 or 400, or not answered. */
  badAnswers: string[];
}

interface Row {
  marker: string;
  [column: string]: unknown;
}

// Columns the gateway sets on every event it enriches: not what the client sent.
const ENRICHED = new Set(['receivedAt', 'request_ip', 'rudderId', 'timestamp', 'originalTimestamp', 'sentAt', 'type']);

/** Where `a` and `b` first differ (`properties.big: Infinity ≠ null`), or undefined when they are equal as JSON values. */
export function jsonDifference(a: unknown, b: unknown, path = '', ignore?: Set<string>): string | undefined {
  const at = path || '(root)';
  if (typeof a !== 'object' || a === null || typeof b !== 'object' || b === null) {
    return a === b ? undefined : `${at}: ${show(a)} ≠ ${show(b)}`;
  }
  if (Array.isArray(a) !== Array.isArray(b)) return `${at}: ${show(a)} ≠ ${show(b)}`;
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const key of keys) {
    if (ignore?.has(key)) continue;
    const inA = Object.hasOwn(a, key);
    const inB = Object.hasOwn(b, key);
    const child = path ? `${path}.${key}` : key;
    if (inA !== inB) return `${child}: ${inA ? 'sent but not stored' : 'stored but not sent'}`;
    const difference = jsonDifference((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key], child);
    if (difference) return difference;
  }
  return undefined;
}

const show = (value: unknown) => {
  const text = typeof value === 'number' && !Number.isFinite(value) ? String(value) : (JSON.stringify(value) ?? String(value));
  return text.length > 60 ? `${text.slice(0, 60)}…` : text;
};

/** True for text Postgres can take as a query parameter exactly (no NUL, no unpaired surrogate). */
const queryable = (text: unknown): text is string => typeof text === 'string' && !text.includes('\u0000') && text.isWellFormed();

/** The rows stored under any of `ids`, as a messageId (events) or a recordId (retl_records), with their source. */
export async function rowsWithIds(db: DbClient, ids: string[]): Promise<Array<{ table: 'events' | 'retl_records'; sourceId: string; id: string }>> {
  if (ids.length === 0) return [];
  return db.query(
    `SELECT 'events' AS "table", source_id AS "sourceId", message_id AS id FROM events WHERE message_id = ANY($1::text[])
     UNION ALL SELECT 'retl_records', source_id, record_id FROM retl_records WHERE record_id = ANY($1::text[])`,
    [[...new Set(ids)]],
  );
}

/**
 * Looks up every event of `sent` (markers `pmk_<run>_<n>`) in events, retl_records,
 * audience_members, users, groups and rejected_events, and says what became of each.
 */
export async function accountPoison(db: DbClient, run: string, sent: SentPoison[]): Promise<PoisonAccount> {
  const like = `%pmk\\_${run}\\_%`;
  const pattern = `pmk_${run}_[0-9]+`;
  const markerOf = (column: string) => `(regexp_match(${column}::text, '${pattern}'))[1] AS marker`;
  const group = (rows: Row[]) => {
    const byMarker = new Map<string, Row[]>();
    for (const row of rows) byMarker.set(row.marker, [...(byMarker.get(row.marker) ?? []), row]);
    return byMarker;
  };
  const keys = sent.flatMap(({ request }) => request.items.map((item) => item.key)).filter(queryable);
  const [events, records, members, rejected] = await Promise.all([
    db.query<Row>(`SELECT source_id, message_id, payload, ${markerOf('payload')} FROM events WHERE payload::text LIKE $1`, [like]),
    db.query<Row>(`SELECT source_id, record_id, fields, ${markerOf('fields')} FROM retl_records WHERE fields::text LIKE $1`, [like]),
    db.query<Row>(`SELECT source_id, audience_id, member, ${markerOf('member')} FROM audience_members WHERE member::text LIKE $1`, [like]),
    db.query<Row & { reason: string | null; message_id: string | null }>(
      `SELECT reason, message_id, ${markerOf("coalesce(event::text, '')")} FROM rejected_events WHERE coalesce(event::text, '') LIKE $1 OR message_id = ANY($2::text[])`,
      [like, keys],
    ),
  ]);
  const stored = { events: group(events), retl_records: group(records), audience_members: group(members) };
  const rejectedByMarker = group(rejected.filter((row) => row.marker !== null));
  const rejectedByKey = new Map(rejected.filter((row) => row.message_id !== null).map((row) => [row.message_id as string, row]));
  const profiles = new Set(
    (
      await Promise.all([
        db.query<{ id: string }>("SELECT 'users ' || workspace_id || ' ' || user_id AS id FROM users WHERE user_id LIKE $1", [like]),
        db.query<{ id: string }>("SELECT 'groups ' || workspace_id || ' ' || group_id AS id FROM groups WHERE group_id LIKE $1", [like]),
      ])
    ).flatMap((rows) => rows.map((row) => row.id)),
  );

  const account: PoisonAccount = {
    good: { acknowledged: 0, stored: 0, lost: [], duplicated: [], refused: [], profilesMissing: [] },
    hostile: { sent: 0, storedExactly: 0, deduplicated: 0, rejected: 0, refused: 0, unaccounted: [] },
    badAnswers: [],
  };
  // Ids under which a row is stored, for events whose own row is missing: another event with the
  // same id (of this run or an earlier one) took its place.
  const keyed = sent
    .flatMap(({ request }) => request.items)
    .filter((item) => item.store !== 'audience_members' && queryable(item.key) && !stored[item.store].has(item.marker));
  const byId = (item: PoisonItem) => `${item.store}\n${item.sourceId}\n${String(item.key)}`;
  const storedIds = new Set(
    (
      await rowsWithIds(
        db,
        keyed.map((item) => item.key as string),
      )
    ).map((row) => `${row.table}\n${row.sourceId}\n${row.id}`),
  );

  for (const { request, status, answer } of sent) {
    if (status !== 200 && status !== 400)
      account.badAnswers.push(`${request.path} answered ${status} ${answer.slice(0, 200)} (${request.items.map((item) => item.hostility).join(', ')})`);
    const parsed = JSON.parse(request.body) as unknown;
    const wholeRequestRefusable = request.items.some((item) => item.refusesRequest);
    for (const item of request.items) {
      const line = (what: string) => `${item.route} ${item.marker} (${item.hostility}): ${what}`;
      const rows = stored[item.store].get(item.marker) ?? [];
      const mine = rows.filter((row) => row.source_id === item.sourceId && storedKey(item, row) === item.key);
      if (item.good) {
        if (status === 400 && !wholeRequestRefusable) account.good.refused.push(line(`refused with its request: ${answer}`));
        if (status !== 200) continue;
        account.good.acknowledged++;
        const copies = item.store === 'audience_members' ? mine.length / 2 : mine.length;
        if (copies === 0) account.good.lost.push(line(`not stored${rows.length > 0 ? `; rows with its marker elsewhere: ${rows.length}` : ''}`));
        else if (copies > 1) account.good.duplicated.push(line(`${mine.length} rows`));
        else account.good.stored++;
        if (item.profile && !profiles.has(`${item.profile.table} ${item.workspaceId} ${item.profile.id}`))
          account.good.profilesMissing.push(line(`no ${item.profile.table} row`));
        continue;
      }
      account.hostile.sent++;
      if (status === 400 && answer.startsWith('Invalid request')) {
        account.hostile.refused++;
        continue;
      }
      if (status !== 200) {
        account.hostile.unaccounted.push(line(`answered ${status}`));
        continue;
      }
      if (rows.length === 0 && storedIds.has(byId(item))) {
        account.hostile.deduplicated++;
        continue;
      }
      const difference = rows.length === 0 ? 'not stored' : exactDifference(item, item.sent(parsed), rows, mine);
      if (difference === undefined) {
        account.hostile.storedExactly++;
        continue;
      }
      const rejection = rejectedByMarker.get(item.marker)?.[0] ?? (queryable(item.key) ? rejectedByKey.get(item.key) : undefined);
      if (rejection && typeof rejection.reason === 'string' && rejection.reason.trim() !== '') account.hostile.rejected++;
      else
        account.hostile.unaccounted.push(
          line(rejection ? 'rejected with an empty reason' : difference === 'not stored' ? 'neither stored nor rejected' : `stored changed: ${difference}`),
        );
    }
  }
  return account;
}

function storedKey(item: PoisonItem, row: Row): unknown {
  if (item.store === 'retl_records') return row.record_id;
  if (item.store === 'audience_members') return row.audience_id;
  return row.message_id;
}

/** Why the stored rows are not the item exactly as sent, or undefined when they are. */
function exactDifference(item: PoisonItem, sent: unknown, rows: Row[], mine: Row[]): string | undefined {
  if (mine.length !== (item.store === 'audience_members' ? 2 : 1))
    return `${rows.length} rows with its marker, ${mine.length} under its source and id ${show(item.key)}`;
  if (item.store === 'retl_records') return jsonDifference(sent, mine[0].fields, 'fields');
  if (item.store === 'audience_members') {
    const canon = (members: unknown[]) => members.map((member) => canonical(member)).sort();
    const [a, b] = [canon(sent as unknown[]), canon(mine.map((row) => row.member))];
    return a.every((member, i) => member === b[i]) ? undefined : `members ${a.join(', ')} ≠ ${b.join(', ')}`;
  }
  // Internal batches are stored exactly as they came; other events gain the gateway's enrichment.
  return jsonDifference(sent, mine[0].payload, '', item.route === 'internal-batch' ? undefined : ENRICHED);
}

/** JSON text with keys sorted, numbers compared as numbers. */
function canonical(value: unknown): string {
  if (typeof value !== 'object' || value === null) return typeof value === 'number' && !Number.isFinite(value) ? String(value) : JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  return `{${Object.keys(value)
    .sort()
    .map((key) => `${JSON.stringify(key)}:${canonical((value as Record<string, unknown>)[key])}`)
    .join(',')}}`;
}

/** Lines that say what is wrong with an account (empty when all is well). */
export function poisonProblems(account: PoisonAccount): string[] {
  return [
    ...account.badAnswers.map((line) => `bad answer: ${line}`),
    ...account.good.lost.map((line) => `lost: ${line}`),
    ...account.good.duplicated.map((line) => `duplicated: ${line}`),
    ...account.good.refused.map((line) => `good event refused: ${line}`),
    ...account.good.profilesMissing.map((line) => `profile missing: ${line}`),
    ...account.hostile.unaccounted.map((line) => `unaccounted: ${line}`),
  ];
}

/**
 * Waits until no queue under `prefix` holds a waiting, active or delayed job (or `timeoutMs`
 * passes), and returns the last depths read: a caller checks them for left-over and failed jobs.
 */
export async function drainQueues(redisUrl: string, prefix: string, timeoutMs: number): Promise<QueueDepth[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const depths = await readQueueDepths(redisUrl, prefix);
    if (depths.every((depth) => depth.waiting + depth.active + depth.delayed === 0) || Date.now() > deadline) return depths;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Queues with a job left waiting, active, delayed or failed, as lines (empty when every queue drained clean). */
export function stuckQueues(depths: QueueDepth[]): string[] {
  return depths
    .filter((d) => d.waiting + d.active + d.delayed + d.failed > 0)
    .map((d) => `${d.queue}: waiting ${d.waiting}, active ${d.active}, delayed ${d.delayed}, failed ${d.failed}`);
}
