import { randomUUID } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { is } from 'drizzle-orm';
import { getTableConfig, PgTable } from 'drizzle-orm/pg-core';
import { createDbClient } from './client';
import { dropDatabase, ensureDatabase, listMigrations, migrate, MIGRATIONS_FOLDER } from './migrate';
import { EventPartitionsRepository } from './repositories/event-partitions.repository';
import * as schema from './schema';
import { describeSchema } from './testing/describe-schema';
import { LEGACY_BOOKKEEPING, LEGACY_MIGRATIONS } from './testing/legacy-migrations';
import { EventStore } from './unit-of-work';
import type { EventRow } from './writers/events.writer';

const LEGACY_TABLE = 'schema_migrations';

function scratchUrl(label: string): string {
  const url = new URL(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
  url.pathname = `/evt_test_migrate_${label}_${randomUUID().slice(0, 8)}`;
  return url.toString();
}

/** A database made as releases before drizzle-kit made it: the frozen hand-written SQL and its bookkeeping. */
async function migrateTheOldWay(databaseUrl: string, count = LEGACY_MIGRATIONS.length): Promise<void> {
  await ensureDatabase(databaseUrl);
  const client = createDbClient(databaseUrl, { max: 1 });
  try {
    await client.query(LEGACY_BOOKKEEPING);
    for (const migration of LEGACY_MIGRATIONS.slice(0, count)) {
      await client.query(`BEGIN; ${migration.sql}; INSERT INTO schema_migrations (id) VALUES ('${migration.id}'); COMMIT;`);
    }
  } finally {
    await client.close();
  }
}

/** A copy of the migrations folder with only the first `count` migrations: a database of an older release. */
function olderRelease(count: number): string {
  const folder = mkdtempSync(path.join(tmpdir(), 'evt-migrations-'));
  cpSync(MIGRATIONS_FOLDER, folder, { recursive: true });
  const journalPath = path.join(folder, 'meta/_journal.json');
  const journal = JSON.parse(readFileSync(journalPath, 'utf8')) as { entries: unknown[] };
  writeFileSync(journalPath, JSON.stringify({ ...journal, entries: journal.entries.slice(0, count) }));
  return folder;
}

function eventRow(sourceId: string, messageId: string, receivedAt: string): EventRow {
  return {
    workspaceId: 'w1',
    sourceId,
    messageId,
    type: 'track',
    userId: 'u1',
    anonymousId: null,
    rudderId: null,
    event: 'Retried',
    name: null,
    receivedAt,
    sentAt: null,
    originalTimestamp: null,
    timestamp: null,
    requestIp: null,
    payload: { messageId },
  };
}

async function withClient<T>(databaseUrl: string, work: (client: ReturnType<typeof createDbClient>) => Promise<T>): Promise<T> {
  const client = createDbClient(databaseUrl, { max: 1 });
  try {
    return await work(client);
  } finally {
    await client.close();
  }
}

describe('migrate (real Postgres)', () => {
  const databases: string[] = [];
  const scratch = (label: string) => {
    const url = scratchUrl(label);
    databases.push(url);
    return url;
  };
  afterAll(() => Promise.all(databases.map((url) => dropDatabase(url))));

  const fresh = scratch('fresh');
  const tags = listMigrations().map((m) => m.tag);

  it('creates the database, applies every migration once, and is safe to run concurrently', async () => {
    const results = await Promise.all([migrate(fresh), migrate(fresh), migrate(fresh)]);
    expect(results.flat()).toEqual(tags);
    expect(await migrate(fresh)).toEqual([]);
    await withClient(fresh, async (client) => {
      const keys = await client.query("SELECT indexdef FROM pg_indexes WHERE indexname IN ('events_pkey', 'event_keys_pkey') ORDER BY indexname");
      expect(keys).toEqual([
        { indexdef: 'CREATE UNIQUE INDEX event_keys_pkey ON public.event_keys USING btree (source_id, message_id)' },
        { indexdef: 'CREATE UNIQUE INDEX events_pkey ON ONLY public.events USING btree (source_id, received_at, id)' },
      ]);
      const partitioned = await client.query("SELECT pg_get_partkeydef('events'::regclass) AS key");
      expect(partitioned).toEqual([{ key: 'RANGE (received_at)' }]);
      const recorded = await client.query<{ count: string }>('SELECT count(*)::text AS count FROM drizzle.__drizzle_migrations');
      expect(recorded).toEqual([{ count: String(tags.length) }]);
    });
  });

  // The partitions of events have its columns; schema.ts declares the partitioned table only.
  it('gives the database exactly the tables and columns of schema.ts (names, types, nullability)', async () => {
    await migrate(fresh);
    const expected = Object.values(schema as Record<string, unknown>)
      .filter((value): value is PgTable => is(value, PgTable))
      .flatMap((table) => {
        const config = getTableConfig(table);
        return config.columns.map((column) => ({ table: config.name, column: column.name, type: column.getSQLType(), notNull: column.notNull }));
      });
    const actual = await withClient(fresh, (client) =>
      client.query(
        `SELECT table_name AS table, column_name AS column, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS "notNull"
           FROM information_schema.columns c
           JOIN pg_attribute a ON a.attrelid = format('public.%I', c.table_name)::regclass AND a.attname = c.column_name
           JOIN pg_class t ON t.oid = a.attrelid
          WHERE c.table_schema = 'public' AND NOT t.relispartition`,
      ),
    );
    const order = (rows: Array<Record<string, unknown>>) => [...rows].sort((a, b) => `${a.table}.${a.column}`.localeCompare(`${b.table}.${b.column}`));
    expect(order(actual)).toEqual(order(expected));
  });

  it('adopts a database made by the hand-written migrations: their DDL not re-run, rows kept, the same schema as a new one', async () => {
    const old = scratch('legacy');
    await migrateTheOldWay(old);
    await withClient(old, async (client) => {
      await client.query("INSERT INTO workspaces (id, name) VALUES ('w1', 'legacy')");
      await client.query("INSERT INTO sources (id, workspace_id, name, write_key) VALUES ('s1', 'w1', 'web', 'key-1')");
      await client.query(
        "INSERT INTO events (workspace_id, source_id, message_id, type, received_at, payload) VALUES ('w1', 's1', 'm1', 'track', now(), '{\"event\":\"Kept\"}')",
      );
      await client.query(
        "INSERT INTO retl_records (source_id, record_id, workspace_id, last_action, message_id, received_at, sequence, sequence_index) VALUES ('s1', 'r1', 'w1', 'insert', 'm2', now(), 1, 0)",
      );
    });

    // The adopted ones are not run again; those after them (events partitioned) are, once.
    expect((await Promise.all([migrate(old), migrate(old)])).flat()).toEqual(tags.slice(LEGACY_MIGRATIONS.length));
    expect(await migrate(old)).toEqual([]);

    await withClient(old, async (client) => {
      expect(await client.query("SELECT payload->>'event' AS event FROM events WHERE message_id = 'm1'")).toEqual([{ event: 'Kept' }]);
      expect(await client.query('SELECT record_id FROM retl_records')).toEqual([{ record_id: 'r1' }]);
      expect(await client.query('SELECT write_key FROM sources')).toEqual([{ write_key: 'key-1' }]);
      // Left as it was, so that an older release started against this database finds it up to date.
      expect(await client.query(`SELECT id FROM ${LEGACY_TABLE} ORDER BY id`)).toEqual(LEGACY_MIGRATIONS.map((m) => ({ id: m.id })));
      // The identity goes on from the legacy rows.
      const [next] = await client.query<{ id: string }>(
        "INSERT INTO events (workspace_id, source_id, message_id, type, received_at, payload) VALUES ('w1', 's1', 'm3', 'track', now(), '{}') RETURNING id::text AS id",
      );
      expect(next.id).toBe('2');
    });

    await migrate(fresh);
    const [adopted, made] = await Promise.all([
      withClient(old, (c) => describeSchema(c, [LEGACY_TABLE])),
      withClient(fresh, (c) => describeSchema(c, [LEGACY_TABLE])),
    ]);
    expect(adopted).toEqual(made);
    expect(made.columns).toHaveLength(
      await withClient(fresh, async (c) => (await c.query("SELECT 1 FROM information_schema.columns WHERE table_schema = 'public'")).length),
    );
    expect(made.constraints).toContainEqual({
      table: 'sources',
      name: 'sources_replay_has_original',
      definition: "CHECK (((kind <> 'replay'::text) OR (original_source_id IS NOT NULL)))",
    });
    expect(made.sequences).toEqual([expect.objectContaining({ name: 'events_id_seq', type: 'bigint', start: '1' })]);
    expect(made.indexes).toContainEqual({
      table: 'audience_members',
      name: 'audience_members_present_idx',
      definition: 'CREATE INDEX audience_members_present_idx ON public.audience_members USING btree (source_id, audience_id) WHERE present',
    });
  });

  it('partitions the events of a database made before partitioning: every row kept in events_legacy, ids going on, retries of them still dropped', async () => {
    const before = scratch('unpartitioned');
    const folder = olderRelease(2);
    try {
      expect(await migrate(before, { folder })).toEqual(tags.slice(0, 2));
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
    const old = [
      ['s1', 'm1', '2025-01-15T08:00:00.000Z'],
      ['s1', 'm2', '2026-06-01T12:30:00.000Z'],
      ['s2', 'm1', new Date(Date.now() - 3_600_000).toISOString()],
    ];
    await withClient(before, async (client) => {
      for (const [sourceId, messageId, receivedAt] of old) {
        await client.query("INSERT INTO events (workspace_id, source_id, message_id, type, received_at, payload) VALUES ('w1', $1, $2, 'track', $3, '{}')", [
          sourceId,
          messageId,
          receivedAt,
        ]);
      }
    });

    expect(await migrate(before)).toEqual(tags.slice(2));

    const client = createDbClient(before, { max: 2 });
    try {
      const stored = () =>
        client.query(`SELECT id::int, source_id, message_id, (extract(epoch FROM received_at) * 1000)::float8 AS received_ms, tableoid::regclass::text AS partition
                        FROM events ORDER BY id`);
      const legacyRows = old.map(([sourceId, messageId, receivedAt], i) => ({
        id: i + 1,
        source_id: sourceId,
        message_id: messageId,
        received_ms: Date.parse(receivedAt),
        partition: 'events_legacy',
      }));
      expect(await stored()).toEqual(legacyRows);
      expect(await client.query('SELECT source_id, message_id FROM event_keys ORDER BY source_id, message_id')).toEqual([
        { source_id: 's1', message_id: 'm1' },
        { source_id: 's1', message_id: 'm2' },
        { source_id: 's2', message_id: 'm1' },
      ]);
      const partitions = await new EventPartitionsRepository(client).list();
      expect(partitions.map(({ name, isDefault, from }) => ({ name, isDefault, from }))).toEqual([
        { name: 'events_legacy', isDefault: false, from: null },
        { name: 'events_default', isDefault: true, from: null },
      ]);
      // The cut-over is after the newest legacy row and not before the migration.
      expect(Date.parse(partitions[0].to as string)).toBeGreaterThan(Date.now() - 60_000);

      // A retry of each legacy event, received again a day later (in another partition), is dropped; a new event is stored, with the next id.
      const now = new Date(Date.now() + 86_400_000).toISOString();
      const result = await new EventStore(client).transaction((uow) =>
        uow.events.insert([eventRow('s1', 'm1', now), eventRow('s1', 'm2', now), eventRow('s2', 'm1', now), eventRow('s2', 'm9', now)]),
      );
      expect(result).toEqual({ inserted: 1, profileKeys: [] });
      const rows = await stored();
      expect(rows.slice(0, 3)).toEqual(legacyRows);
      expect(rows.slice(3)).toEqual([expect.objectContaining({ id: 4, source_id: 's2', message_id: 'm9', partition: 'events_default' })]);
    } finally {
      await client.close();
    }
  });

  it('brings a database that had only the first hand-written migration up with the generated ones after it', async () => {
    const partial = scratch('partial');
    await migrateTheOldWay(partial, 1);
    expect(await migrate(partial)).toEqual(tags.slice(1));
    await migrate(fresh);
    const [upgraded, made] = await Promise.all([
      withClient(partial, (c) => describeSchema(c, [LEGACY_TABLE])),
      withClient(fresh, (c) => describeSchema(c, [LEGACY_TABLE])),
    ]);
    expect(upgraded).toEqual(made);
  });

  it('refuses a database whose schema_migrations lists a migration it does not know, and changes nothing', async () => {
    const odd = scratch('unknown');
    await migrateTheOldWay(odd);
    await withClient(odd, (client) => client.query("INSERT INTO schema_migrations (id) VALUES ('0003_from_elsewhere')"));
    await expect(migrate(odd)).rejects.toThrow('schema_migrations lists migrations this release does not know: 0003_from_elsewhere');
    expect(await withClient(odd, (client) => client.query("SELECT to_regclass('drizzle.__drizzle_migrations') AS found"))).toEqual([{ found: null }]);
  });
});
