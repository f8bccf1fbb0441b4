import type { PoolClient } from 'pg';
import { DEDUP_CONSTRAINT } from '../db-errors';
import type { events } from '../schema';
import type { Statements } from './statements';

/** An `events` row as the worker writes it: every column but those the database fills (id, stored_at). */
export type EventRow = Required<Omit<typeof events.$inferInsert, 'id' | 'storedAt'>>;

/** Event types whose newly stored events change profiles (users, groups, aliases). */
const PROFILE_TYPES = ['identify', 'group', 'alias'];

export interface StoredKey {
  sourceId: string;
  messageId: string;
}

export interface InsertedEvents {
  /** How many of the rows were new (the others were stored before). */
  inserted: number;
  /** The new rows of PROFILE_TYPES, whose profile changes must be applied. */
  profileKeys: StoredKey[];
}

// Spelled out rather than read from schema.ts: this is the hot path (events.writer.spec.ts checks them against it).
export const EVENT_COLUMNS = [
  'workspace_id',
  'source_id',
  'message_id',
  'type',
  'user_id',
  'anonymous_id',
  'rudder_id',
  'event',
  'name',
  'received_at',
  'sent_at',
  'original_timestamp',
  'timestamp',
  'request_ip',
  'payload',
];

/** An event row's values, in EVENT_COLUMNS order. */
export function eventValues(row: EventRow): unknown[] {
  return [
    row.workspaceId,
    row.sourceId,
    row.messageId,
    row.type,
    row.userId,
    row.anonymousId,
    row.rudderId,
    row.event,
    row.name,
    row.receivedAt,
    row.sentAt,
    row.originalTimestamp,
    row.timestamp,
    row.requestIp,
    row.payload,
  ];
}

/** An event's dedup key, in KEY_COLUMNS order. */
const keyValues = (row: EventRow): unknown[] => [row.sourceId, row.messageId, row.receivedAt];

const QUOTED = EVENT_COLUMNS.map((c) => `"${c}"`).join(', ');

// The dedup table's columns: received_at is the first delivery's, which the dedup window counts from.
const KEY_COLUMNS = ['source_id', 'message_id', 'received_at'];

// A key is claimed in event_keys first; only the rows whose key was new go into events. Only the
// inserted events that change profiles come back; the rest are counted.
const MOVE_STAGED = `
      WITH claimed AS (
        INSERT INTO event_keys (${KEY_COLUMNS.join(', ')})
        SELECT ${KEY_COLUMNS.join(', ')} FROM events_staging
        ON CONFLICT (source_id, message_id) DO NOTHING
        RETURNING source_id, message_id),
      inserted AS (
        INSERT INTO events (${QUOTED})
        SELECT ${EVENT_COLUMNS.map((c) => `s."${c}"`).join(', ')} FROM events_staging s JOIN claimed USING (source_id, message_id)
        RETURNING source_id, message_id, type)
      SELECT source_id, message_id, 0 AS inserted FROM inserted WHERE type IN (${PROFILE_TYPES.map((t) => `'${t}'`).join(', ')})
      UNION ALL SELECT NULL, NULL, count(*)::int FROM inserted`;

// Connections that have their session's staging table already.
const STAGED = new WeakSet<PoolClient>();

/**
 * Creates the session's staging table on a connection that has none, outside any transaction:
 * created inside one, a rollback (or a rolled-back savepoint) would drop it while the connection
 * still counted as prepared. The unit of work calls it before BEGIN; it rejects with a driver error.
 */
export async function prepareEventsStaging(client: PoolClient): Promise<void> {
  if (STAGED.has(client)) return;
  await client.query(`CREATE TEMP TABLE IF NOT EXISTS events_staging (
    workspace_id text, source_id text, message_id text, type text, user_id text, anonymous_id text, rudder_id uuid,
    event text, name text, received_at timestamptz, sent_at timestamptz, original_timestamp timestamptz,
    "timestamp" timestamptz, request_ip text, payload jsonb) ON COMMIT DELETE ROWS`);
  STAGED.add(client);
}

/** The first row of each (source, messageId): a job may carry an event twice (an SDK sent it twice). */
function firstOfEachKey(rows: EventRow[]): EventRow[] {
  const seen = new Set<string>();
  const distinct: EventRow[] = [];
  for (const row of rows) {
    const key = `${row.sourceId}\u0000${row.messageId}`;
    if (seen.has(key)) continue;
    seen.add(key);
    distinct.push(row);
  }
  return distinct;
}

const isProfileType = (row: EventRow) => PROFILE_TYPES.includes(row.type);

/** Writes `events` and their keys in `event_keys`. Idempotent: an event already stored (same source and messageId, within the dedup window) is skipped. */
export class EventsWriter {
  constructor(private readonly statements: Statements) {}

  /**
   * Inserts events, skipping those already stored; says how many were new, and which new ones
   * change profiles. Almost always none was stored before (only a retried job or a client's
   * resend carries one), so the keys are first COPYed straight into `event_keys` and the rows into
   * `events`, Postgres's fastest write. The dedup key (source, messageId) refuses the first COPY
   * if one was stored, whichever partition of `events` it went to, and then the rows go the
   * idempotent way: COPY into a staging table, then one statement that claims the new keys
   * (INSERT … ON CONFLICT DO NOTHING) and inserts their rows.
   */
  async insert(rows: EventRow[]): Promise<InsertedEvents> {
    if (rows.length === 0) return { inserted: 0, profileKeys: [] };
    const distinct = firstOfEachKey(rows);
    if (await this.statements.copyUnlessDuplicate('event_keys', KEY_COLUMNS, distinct.map(keyValues), DEDUP_CONSTRAINT)) {
      await this.statements.copy('events', EVENT_COLUMNS, distinct.map(eventValues));
      return { inserted: distinct.length, profileKeys: distinct.filter(isProfileType).map(({ sourceId, messageId }) => ({ sourceId, messageId })) };
    }
    await this.statements.copy('events_staging', EVENT_COLUMNS, distinct.map(eventValues));
    const result = await this.statements.query<{ source_id: string | null; message_id: string | null; inserted: number }>(MOVE_STAGED);
    await this.statements.query('TRUNCATE events_staging');
    const keys = result.filter((row) => row.source_id !== null).map((row) => ({ sourceId: row.source_id as string, messageId: row.message_id as string }));
    const inserted = result.find((row) => row.source_id === null)?.inserted ?? 0;
    return { inserted, profileKeys: keys };
  }
}
