import { sql, type SQL } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import type { PoolClient } from 'pg';
import type { DbClient } from '../client';
import { copyInto } from '../copy';
import { translateDbError } from '../db-errors';
import { sanitizeJsonForPostgres } from '../json';

export interface EventRow {
  workspaceId: string;
  sourceId: string;
  messageId: string;
  type: string;
  userId: string | null;
  anonymousId: string | null;
  rudderId: string | null;
  event: string | null;
  name: string | null;
  receivedAt: string;
  sentAt: string | null;
  originalTimestamp: string | null;
  timestamp: string | null;
  requestIp: string | null;
  payload: unknown;
}

export interface UserUpsert {
  workspaceId: string;
  userId: string;
  anonymousId: string | null;
  traits: Record<string, unknown>;
  firstSeenAt: string;
  lastSeenAt: string;
  lastMessageId: string;
}

export interface GroupUpsert {
  workspaceId: string;
  groupId: string;
  traits: Record<string, unknown>;
  lastUserId: string | null;
  firstSeenAt: string;
  lastSeenAt: string;
}

export interface AliasRow {
  workspaceId: string;
  previousId: string;
  userId: string;
  messageId: string;
  aliasedAt: string;
}

export interface RejectedRow {
  id: string;
  workspaceId: string | null;
  sourceId: string | null;
  reason: string;
  messageId: string | null;
  event: unknown;
  eventSize: number | null;
  receivedAt: string;
}

/**
 * A record's net change within one job, already folded: `replace` (an insert, maybe followed by
 * updates), `merge` (updates only) or `delete`. `lastAction` is what the client last asked.
 */
export interface RetlRecordWrite {
  sourceId: string;
  destinationId: string;
  recordId: string;
  workspaceId: string;
  mode: 'replace' | 'merge' | 'delete';
  lastAction: 'insert' | 'update' | 'delete';
  fields: Record<string, unknown>;
  messageId: string;
  receivedAt: string;
  sequence: number;
  sequenceIndex: number;
}

export interface AudienceMemberWrite {
  sourceId: string;
  audienceId: string;
  memberKey: string;
  workspaceId: string;
  member: Record<string, unknown>;
  present: boolean;
  messageId: string;
  sequence: number;
  sequenceIndex: number;
}

// What each mode does to a record that exists; every mode inserts a record that does not.
const RETL_SET: Record<RetlRecordWrite['mode'], SQL> = {
  replace: sql.raw('fields = excluded.fields, deleted = false'),
  merge: sql.raw('fields = retl_records.fields || excluded.fields, deleted = false'),
  delete: sql.raw('deleted = true'),
};

/** Event types whose newly stored events change profiles (users, groups, aliases). */
export const PROFILE_TYPES = ['identify', 'group', 'alias'];

export interface InsertedEvents {
  /** How many of the rows were new (the others were stored before). */
  inserted: number;
  /** The new rows of PROFILE_TYPES, whose profile changes must be applied. */
  profileKeys: StoredKey[];
}

export interface StoredKey {
  sourceId: string;
  messageId: string;
}

/** The rows as one jsonb parameter: one statement writes thousands of rows. */
function asJsonb(rows: unknown[]): SQL {
  return sql`${sanitizeJsonForPostgres(JSON.stringify(rows))}::jsonb`;
}

const EVENT_COLUMNS = [
  'workspace_id', 'source_id', 'message_id', 'type', 'user_id', 'anonymous_id', 'rudder_id', 'event', 'name',
  'received_at', 'sent_at', 'original_timestamp', 'timestamp', 'request_ip', 'payload',
];

/** An event row's values, in EVENT_COLUMNS order. */
function eventValues(row: EventRow): unknown[] {
  return [
    row.workspaceId, row.sourceId, row.messageId, row.type, row.userId, row.anonymousId, row.rudderId, row.event, row.name,
    row.receivedAt, row.sentAt, row.originalTimestamp, row.timestamp, row.requestIp, row.payload,
  ];
}

// Connections that have their session's staging table already.
const STAGED = new WeakSet<PoolClient>();

/**
 * Creates the session's staging table on a connection that has none, outside any transaction:
 * created inside one, a rollback (or a rolled-back savepoint) would drop it while the connection
 * still counted as prepared.
 */
async function prepareStaging(client: PoolClient): Promise<void> {
  if (STAGED.has(client)) return;
  await client.query(`CREATE TEMP TABLE IF NOT EXISTS events_staging (
    workspace_id text, source_id text, message_id text, type text, user_id text, anonymous_id text, rudder_id uuid,
    event text, name text, received_at timestamptz, sent_at timestamptz, original_timestamp timestamptz,
    "timestamp" timestamptz, request_ip text, payload jsonb) ON COMMIT DELETE ROWS`);
  STAGED.add(client);
}

/** Audience members upserted per statement: bounds the memory of one statement, in the worker and in Postgres. */
const AUDIENCE_MEMBERS_PER_STATEMENT = 5000;

/** Writes of the events worker. Every write is idempotent: running the same job twice leaves the same rows. */
export class EventStoreSession {
  private savepoints = 0;
  private readonly tx: ReturnType<typeof drizzle<Record<string, never>, PoolClient>>;

  constructor(private readonly client: PoolClient) {
    this.tx = drizzle(client);
  }

  /**
   * Inserts events, skipping those already stored (same source and messageId); says how many
   * were new, and which new ones change profiles. The rows are COPYed into a staging table first (the fastest way into Postgres),
   * then moved with one INSERT … ON CONFLICT DO NOTHING, which keeps the write idempotent.
   */
  async insertEvents(rows: EventRow[]): Promise<InsertedEvents> {
    if (rows.length === 0) return { inserted: 0, profileKeys: [] };
    await copyInto(this.client, 'events_staging', EVENT_COLUMNS, rows.map(eventValues));
    // Only the inserted events that change profiles come back; the rest are counted.
    const result = await this.client.query<{ source_id: string | null; message_id: string | null; inserted: number }>(`
      WITH inserted AS (
        INSERT INTO events (${EVENT_COLUMNS.map((c) => `"${c}"`).join(', ')})
        SELECT ${EVENT_COLUMNS.map((c) => `"${c}"`).join(', ')} FROM events_staging
        ON CONFLICT (source_id, message_id) DO NOTHING
        RETURNING source_id, message_id, type)
      SELECT source_id, message_id, 0 AS inserted FROM inserted WHERE type IN (${PROFILE_TYPES.map((t) => `'${t}'`).join(', ')})
      UNION ALL SELECT NULL, NULL, count(*)::int FROM inserted`);
    await this.client.query('TRUNCATE events_staging');
    const keys = result.rows.filter((row) => row.source_id !== null).map((row) => ({ sourceId: row.source_id as string, messageId: row.message_id as string }));
    const inserted = result.rows.find((row) => row.source_id === null)?.inserted ?? 0;
    return { inserted, profileKeys: keys };
  }

  /**
   * Merges traits into `users`. Rows must be unique per (workspace, user) and sorted, which keeps
   * concurrent workers from deadlocking. Newer traits win whatever order jobs run in.
   */
  async upsertUsers(rows: UserUpsert[]): Promise<void> {
    if (rows.length === 0) return;
    await this.tx.execute(sql`
      INSERT INTO users (workspace_id, user_id, anonymous_id, traits, first_seen_at, last_seen_at, last_message_id)
      SELECT workspace_id, user_id, anonymous_id, traits, first_seen_at, last_seen_at, last_message_id
      FROM jsonb_to_recordset(${asJsonb(
        rows.map((r) => ({
          workspace_id: r.workspaceId,
          user_id: r.userId,
          anonymous_id: r.anonymousId,
          traits: r.traits,
          first_seen_at: r.firstSeenAt,
          last_seen_at: r.lastSeenAt,
          last_message_id: r.lastMessageId,
        })),
      )}) AS r(workspace_id text, user_id text, anonymous_id text, traits jsonb, first_seen_at timestamptz,
               last_seen_at timestamptz, last_message_id text)
      ON CONFLICT (workspace_id, user_id) DO UPDATE SET
        traits = CASE WHEN excluded.last_seen_at >= users.last_seen_at THEN users.traits || excluded.traits
                      ELSE excluded.traits || users.traits END,
        anonymous_id = CASE WHEN excluded.last_seen_at >= users.last_seen_at THEN coalesce(excluded.anonymous_id, users.anonymous_id)
                            ELSE coalesce(users.anonymous_id, excluded.anonymous_id) END,
        last_message_id = CASE WHEN excluded.last_seen_at >= users.last_seen_at THEN excluded.last_message_id
                               ELSE users.last_message_id END,
        first_seen_at = least(users.first_seen_at, excluded.first_seen_at),
        last_seen_at = greatest(users.last_seen_at, excluded.last_seen_at)`);
  }

  /** Merges traits into `groups`; same rules as users. */
  async upsertGroups(rows: GroupUpsert[]): Promise<void> {
    if (rows.length === 0) return;
    await this.tx.execute(sql`
      INSERT INTO groups (workspace_id, group_id, traits, last_user_id, first_seen_at, last_seen_at)
      SELECT workspace_id, group_id, traits, last_user_id, first_seen_at, last_seen_at
      FROM jsonb_to_recordset(${asJsonb(
        rows.map((r) => ({
          workspace_id: r.workspaceId,
          group_id: r.groupId,
          traits: r.traits,
          last_user_id: r.lastUserId,
          first_seen_at: r.firstSeenAt,
          last_seen_at: r.lastSeenAt,
        })),
      )}) AS r(workspace_id text, group_id text, traits jsonb, last_user_id text, first_seen_at timestamptz, last_seen_at timestamptz)
      ON CONFLICT (workspace_id, group_id) DO UPDATE SET
        traits = CASE WHEN excluded.last_seen_at >= groups.last_seen_at THEN groups.traits || excluded.traits
                      ELSE excluded.traits || groups.traits END,
        last_user_id = CASE WHEN excluded.last_seen_at >= groups.last_seen_at THEN coalesce(excluded.last_user_id, groups.last_user_id)
                            ELSE groups.last_user_id END,
        first_seen_at = least(groups.first_seen_at, excluded.first_seen_at),
        last_seen_at = greatest(groups.last_seen_at, excluded.last_seen_at)`);
  }

  async insertAliases(rows: AliasRow[]): Promise<void> {
    if (rows.length === 0) return;
    await this.tx.execute(sql`
      INSERT INTO aliases (workspace_id, previous_id, user_id, message_id, aliased_at)
      SELECT workspace_id, previous_id, user_id, message_id, aliased_at
      FROM jsonb_to_recordset(${asJsonb(
        rows.map((r) => ({ workspace_id: r.workspaceId, previous_id: r.previousId, user_id: r.userId, message_id: r.messageId, aliased_at: r.aliasedAt })),
      )}) AS r(workspace_id text, previous_id text, user_id text, message_id text, aliased_at timestamptz)
      ON CONFLICT (workspace_id, previous_id, user_id) DO NOTHING`);
  }

  async insertRejected(rows: RejectedRow[]): Promise<void> {
    if (rows.length === 0) return;
    await this.tx.execute(sql`
      INSERT INTO rejected_events (id, workspace_id, source_id, reason, message_id, event, event_size, received_at)
      SELECT id, workspace_id, source_id, reason, message_id, event, event_size, received_at
      FROM jsonb_to_recordset(${asJsonb(
        rows.map((r) => ({
          id: r.id,
          workspace_id: r.workspaceId,
          source_id: r.sourceId,
          reason: r.reason,
          message_id: r.messageId,
          event: r.event ?? null,
          event_size: r.eventSize,
          received_at: r.receivedAt,
        })),
      )}) AS r(id text, workspace_id text, source_id text, reason text, message_id text, event jsonb, event_size integer, received_at timestamptz)
      ON CONFLICT (id) DO NOTHING`);
  }

  /**
   * Applies rETL records: one row per (source, destination, record id). A write older than the
   * row's (sequence, index) changes nothing, so a job run twice, or late, leaves the rows as they are.
   * Rows must be unique per key.
   */
  async upsertRetlRecords(rows: RetlRecordWrite[]): Promise<void> {
    for (const mode of ['replace', 'merge', 'delete'] as const) {
      const selected = rows.filter((row) => row.mode === mode);
      if (selected.length === 0) continue;
      await this.tx.execute(sql`
        INSERT INTO retl_records (source_id, destination_id, record_id, workspace_id, fields, deleted, last_action, message_id,
                                  received_at, sequence, sequence_index)
        SELECT source_id, destination_id, record_id, workspace_id, fields, ${mode === 'delete'}, last_action, message_id,
               received_at, sequence, sequence_index
        FROM jsonb_to_recordset(${asJsonb(
          selected.map((r) => ({
            source_id: r.sourceId,
            destination_id: r.destinationId,
            record_id: r.recordId,
            workspace_id: r.workspaceId,
            fields: r.fields,
            last_action: r.lastAction,
            message_id: r.messageId,
            received_at: r.receivedAt,
            sequence: r.sequence,
            sequence_index: r.sequenceIndex,
          })),
        )}) AS r(source_id text, destination_id text, record_id text, workspace_id text, fields jsonb, last_action text,
                 message_id text, received_at timestamptz, sequence bigint, sequence_index integer)
        ON CONFLICT (source_id, destination_id, record_id) DO UPDATE SET ${RETL_SET[mode]},
          last_action = excluded.last_action, message_id = excluded.message_id, received_at = excluded.received_at,
          sequence = excluded.sequence, sequence_index = excluded.sequence_index, updated_at = now()
        WHERE (retl_records.sequence, retl_records.sequence_index) < (excluded.sequence, excluded.sequence_index)`);
    }
  }

  /** Adds (present) and removes (not present) audience members; older writes change nothing. Rows unique per key. */
  async upsertAudienceMembers(rows: AudienceMemberWrite[]): Promise<void> {
    // In statements of bounded size: one statement's JSON parameter is held whole by both sides.
    for (let start = 0; start < rows.length; start += AUDIENCE_MEMBERS_PER_STATEMENT) {
      await this.upsertAudienceMemberChunk(rows.slice(start, start + AUDIENCE_MEMBERS_PER_STATEMENT));
    }
  }

  private async upsertAudienceMemberChunk(rows: AudienceMemberWrite[]): Promise<void> {
    await this.tx.execute(sql`
      INSERT INTO audience_members (source_id, audience_id, member_key, workspace_id, member, present, message_id, sequence, sequence_index)
      SELECT source_id, audience_id, member_key, workspace_id, member, present, message_id, sequence, sequence_index
      FROM jsonb_to_recordset(${asJsonb(
        rows.map((r) => ({
          source_id: r.sourceId,
          audience_id: r.audienceId,
          member_key: r.memberKey,
          workspace_id: r.workspaceId,
          member: r.member,
          present: r.present,
          message_id: r.messageId,
          sequence: r.sequence,
          sequence_index: r.sequenceIndex,
        })),
      )}) AS r(source_id text, audience_id text, member_key text, workspace_id text, member jsonb, present boolean,
               message_id text, sequence bigint, sequence_index integer)
      ON CONFLICT (source_id, audience_id, member_key) DO UPDATE SET
        member = excluded.member, present = excluded.present, message_id = excluded.message_id,
        sequence = excluded.sequence, sequence_index = excluded.sequence_index, updated_at = now()
      WHERE (audience_members.sequence, audience_members.sequence_index) < (excluded.sequence, excluded.sequence_index)`);
  }

  /** Runs `work` inside a savepoint: its failure undoes only its own writes. */
  async savepoint<T>(work: (session: EventStoreSession) => Promise<T>): Promise<T> {
    const name = `sp_${++this.savepoints}`;
    await this.client.query(`SAVEPOINT ${name}`);
    try {
      const result = await work(this);
      await this.client.query(`RELEASE SAVEPOINT ${name}`);
      return result;
    } catch (error) {
      await this.client.query(`ROLLBACK TO SAVEPOINT ${name}`);
      throw error;
    }
  }
}

export class EventStore {
  constructor(private readonly db: DbClient) {}

  /** Runs `work` in one transaction on one connection; driver errors come out translated (retriable or permanent). */
  async transaction<T>(work: (session: EventStoreSession) => Promise<T>): Promise<T> {
    let client: PoolClient;
    try {
      client = await this.db.connect();
    } catch (error) {
      throw translateDbError(error);
    }
    let broken: Error | undefined;
    // A connection lost while checked out (Postgres stopped) emits 'error' on the client; unheard,
    // that would crash the worker. The failing query rejects anyway; the client is then discarded.
    const onError = (error: Error) => {
      broken = error;
    };
    client.on('error', onError);
    try {
      await prepareStaging(client);
      await client.query('BEGIN');
      const result = await work(new EventStoreSession(client));
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch((rollbackError: Error) => {
        broken = rollbackError; // the connection is gone: do not give it back to the pool
      });
      throw translateDbError(error);
    } finally {
      client.off('error', onError);
      client.release(broken);
    }
  }
}
