import { sql } from 'drizzle-orm';
import { bigint, boolean, check, foreignKey, index, integer, jsonb, pgTable, primaryKey, text, timestamp, unique, uuid } from 'drizzle-orm/pg-core';

// The tables are part of the product: admins query them, so names are snake_case and stable.
// This file is the schema's source of truth: `npm run db:generate` writes the migration that
// brings a database to it (./migrations), and a test fails when the two disagree.
// Constraints are named as Postgres named them when the first migrations were hand-written
// (`<table>_pkey`, `<table>_<column>_key`, `<table>_<column>_fkey`, `<table>_<column>_check`),
// so that databases made then and now are the same.

const tz = (name: string) => timestamp(name, { withTimezone: true, mode: 'string' });
/** `'a', 'b'`: the values of an enum column, for its CHECK constraint. */
const sqlList = (values: readonly string[]) => sql.raw(values.map((v) => `'${v}'`).join(', '));

export const SOURCE_KINDS = ['event_stream', 'webhook', 'replay', 'retl', 'extract'] as const;
export type SourceKind = (typeof SOURCE_KINDS)[number];

export const workspaces = pgTable('workspaces', {
  id: text('id').primaryKey(),
  name: text('name').notNull().unique('workspaces_name_key'),
  createdAt: tz('created_at').notNull().defaultNow(),
});

export const sources = pgTable(
  'sources',
  {
    id: text('id').primaryKey(),
    workspaceId: text('workspace_id').notNull(),
    name: text('name').notNull(),
    writeKey: text('write_key').notNull().unique('sources_write_key_key'),
    kind: text('kind', { enum: SOURCE_KINDS }).notNull().default('event_stream'),
    enabled: boolean('enabled').notNull().default(true),
    originalSourceId: text('original_source_id'),
    rateLimitEvents: integer('rate_limit_events'),
    rateLimitWindowSeconds: integer('rate_limit_window_seconds').notNull().default(60),
    createdAt: tz('created_at').notNull().defaultNow(),
    updatedAt: tz('updated_at').notNull().defaultNow(),
  },
  (t) => [
    foreignKey({ name: 'sources_workspace_id_fkey', columns: [t.workspaceId], foreignColumns: [workspaces.id] }),
    // A replay source points at the source whose events it replays.
    foreignKey({ name: 'sources_original_source_id_fkey', columns: [t.originalSourceId], foreignColumns: [t.id] }),
    unique('sources_workspace_id_name_key').on(t.workspaceId, t.name),
    check('sources_kind_check', sql`kind IN (${sqlList(SOURCE_KINDS)})`),
    check('sources_rate_limit_events_check', sql`rate_limit_events IS NULL OR rate_limit_events > 0`),
    check('sources_rate_limit_window_seconds_check', sql`rate_limit_window_seconds > 0`),
    check('sources_replay_has_original', sql`kind <> 'replay' OR original_source_id IS NOT NULL`),
  ],
);

export const destinations = pgTable(
  'destinations',
  {
    id: text('id').primaryKey(),
    sourceId: text('source_id').notNull(),
    name: text('name').notNull(),
    enabled: boolean('enabled').notNull().default(true),
    createdAt: tz('created_at').notNull().defaultNow(),
  },
  (t) => [foreignKey({ name: 'destinations_source_id_fkey', columns: [t.sourceId], foreignColumns: [sources.id] })],
);

// No foreign key to sources: a per-row check would tax the hottest insert for nothing
// (the gateway only enqueues events of known sources).
// In the database `events` is partitioned by RANGE (received_at) (migration 0002, written by hand:
// drizzle-kit cannot express partitioning); the workers create its partitions ahead of time
// (event-partitions.repository.ts). A unique index of a partitioned table must hold the partition
// key, so the dedup key (source_id, message_id) lives in `event_keys`. Every unique key starts
// with source_id, the column a distributed Postgres (Citus) would shard both tables by.
export const events = pgTable(
  'events',
  {
    id: bigint('id', { mode: 'number' }).notNull().generatedAlwaysAsIdentity(),
    workspaceId: text('workspace_id').notNull(),
    sourceId: text('source_id').notNull(),
    messageId: text('message_id').notNull(),
    type: text('type').notNull(),
    userId: text('user_id'),
    anonymousId: text('anonymous_id'),
    rudderId: uuid('rudder_id'),
    event: text('event'),
    name: text('name'),
    receivedAt: tz('received_at').notNull(),
    sentAt: tz('sent_at'),
    originalTimestamp: tz('original_timestamp'),
    timestamp: tz('timestamp'),
    requestIp: text('request_ip'),
    payload: jsonb('payload').notNull(),
    storedAt: tz('stored_at').notNull().defaultNow(),
  },
  // Also the index of a source's events by time (it replaces events_source_id_received_at_idx).
  (t) => [primaryKey({ name: 'events_pkey', columns: [t.sourceId, t.receivedAt, t.id] })],
);

/**
 * The dedup keys of stored events: the writer inserts a key first and stores the event only when
 * the key was new, so a retry is dropped whichever partition its received_at falls in. Keys older
 * than the dedup window (EVENTS_DEDUP_WINDOW_DAYS, after the first delivery's received_at) are
 * deleted by the workers' maintenance; a delivery after that is stored again.
 */
export const eventKeys = pgTable(
  'event_keys',
  {
    sourceId: text('source_id').notNull(),
    messageId: text('message_id').notNull(),
    receivedAt: tz('received_at').notNull(),
  },
  (t) => [primaryKey({ name: 'event_keys_pkey', columns: [t.sourceId, t.messageId] }), index('event_keys_received_at_idx').on(t.receivedAt)],
);

export const users = pgTable(
  'users',
  {
    workspaceId: text('workspace_id').notNull(),
    userId: text('user_id').notNull(),
    anonymousId: text('anonymous_id'),
    traits: jsonb('traits')
      .notNull()
      .default(sql`'{}'::jsonb`),
    firstSeenAt: tz('first_seen_at').notNull(),
    lastSeenAt: tz('last_seen_at').notNull(),
    lastMessageId: text('last_message_id'),
  },
  (t) => [primaryKey({ name: 'users_pkey', columns: [t.workspaceId, t.userId] })],
);

export const groups = pgTable(
  'groups',
  {
    workspaceId: text('workspace_id').notNull(),
    groupId: text('group_id').notNull(),
    traits: jsonb('traits')
      .notNull()
      .default(sql`'{}'::jsonb`),
    lastUserId: text('last_user_id'),
    firstSeenAt: tz('first_seen_at').notNull(),
    lastSeenAt: tz('last_seen_at').notNull(),
  },
  (t) => [primaryKey({ name: 'groups_pkey', columns: [t.workspaceId, t.groupId] })],
);

export const aliases = pgTable(
  'aliases',
  {
    workspaceId: text('workspace_id').notNull(),
    previousId: text('previous_id').notNull(),
    userId: text('user_id').notNull(),
    messageId: text('message_id').notNull(),
    aliasedAt: tz('aliased_at').notNull(),
  },
  (t) => [primaryKey({ name: 'aliases_pkey', columns: [t.workspaceId, t.previousId, t.userId] })],
);

export const rejectedEvents = pgTable(
  'rejected_events',
  {
    id: text('id').primaryKey(),
    workspaceId: text('workspace_id'),
    sourceId: text('source_id'),
    reason: text('reason').notNull(),
    messageId: text('message_id'),
    event: jsonb('event'),
    eventSize: integer('event_size'),
    receivedAt: tz('received_at').notNull(),
    storedAt: tz('stored_at').notNull().defaultNow(),
  },
  (t) => [index('rejected_events_source_id_received_at_idx').on(t.sourceId, t.receivedAt)],
);

const RETL_ACTIONS = ['insert', 'update', 'delete'] as const;

// Rows are never deleted by the workers: a delete or a remove is a flag, so that a late,
// older write cannot bring a record back. (sequence, sequence_index) orders every write.
export const retlRecords = pgTable(
  'retl_records',
  {
    sourceId: text('source_id').notNull(),
    destinationId: text('destination_id').notNull().default(''),
    recordId: text('record_id').notNull(),
    workspaceId: text('workspace_id').notNull(),
    fields: jsonb('fields')
      .notNull()
      .default(sql`'{}'::jsonb`),
    deleted: boolean('deleted').notNull().default(false),
    lastAction: text('last_action', { enum: RETL_ACTIONS }).notNull(),
    messageId: text('message_id').notNull(),
    receivedAt: tz('received_at').notNull(),
    sequence: bigint('sequence', { mode: 'number' }).notNull(),
    sequenceIndex: integer('sequence_index').notNull(),
    updatedAt: tz('updated_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ name: 'retl_records_pkey', columns: [t.sourceId, t.destinationId, t.recordId] }),
    check('retl_records_last_action_check', sql`last_action IN (${sqlList(RETL_ACTIONS)})`),
  ],
);

export const audienceMembers = pgTable(
  'audience_members',
  {
    sourceId: text('source_id').notNull(),
    audienceId: text('audience_id').notNull(),
    memberKey: text('member_key').notNull(),
    workspaceId: text('workspace_id').notNull(),
    member: jsonb('member').notNull(),
    present: boolean('present').notNull(),
    messageId: text('message_id').notNull(),
    sequence: bigint('sequence', { mode: 'number' }).notNull(),
    sequenceIndex: integer('sequence_index').notNull(),
    updatedAt: tz('updated_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ name: 'audience_members_pkey', columns: [t.sourceId, t.audienceId, t.memberKey] }),
    index('audience_members_present_idx')
      .on(t.sourceId, t.audienceId)
      .where(sql`present`),
  ],
);
