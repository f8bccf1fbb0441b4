import { randomUUID } from 'node:crypto';
import { is } from 'drizzle-orm';
import { getTableConfig, PgTable } from 'drizzle-orm/pg-core';
import { createDbClient } from './client';
import { dropDatabase, ensureDatabase, listMigrations, migrate } from './migrate';
import * as schema from './schema';
import { describeSchema } from './testing/describe-schema';
import { LEGACY_BOOKKEEPING, LEGACY_MIGRATIONS } from './testing/legacy-migrations';

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
      const unique = await client.query("SELECT indexdef FROM pg_indexes WHERE indexname = 'events_source_id_message_id_key'");
      expect(unique).toEqual([{ indexdef: 'CREATE UNIQUE INDEX events_source_id_message_id_key ON public.events USING btree (source_id, message_id)' }]);
      const recorded = await client.query<{ count: string }>('SELECT count(*)::text AS count FROM drizzle.__drizzle_migrations');
      expect(recorded).toEqual([{ count: String(tags.length) }]);
    });
  });

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
          WHERE c.table_schema = 'public'`,
      ),
    );
    const order = (rows: Array<Record<string, unknown>>) => [...rows].sort((a, b) => `${a.table}.${a.column}`.localeCompare(`${b.table}.${b.column}`));
    expect(order(actual)).toEqual(order(expected));
  });

  it('adopts a database made by the hand-written migrations: no DDL re-run, rows kept, the same schema as a new one', async () => {
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

    expect(await Promise.all([migrate(old), migrate(old)])).toEqual([[], []]);
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
