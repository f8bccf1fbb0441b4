import { randomUUID } from 'node:crypto';
import { createDbClient } from './client';
import { dropDatabase, migrate } from './migrate';
import { MIGRATIONS } from './migrations';

describe('migrate (real Postgres)', () => {
  const url = new URL(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
  url.pathname = `/evt_test_migrate_${randomUUID().slice(0, 8)}`;
  const databaseUrl = url.toString();
  afterAll(() => dropDatabase(databaseUrl));

  it('creates the database, applies every migration once, and is safe to run concurrently', async () => {
    const results = await Promise.all([migrate(databaseUrl), migrate(databaseUrl), migrate(databaseUrl)]);
    expect(results.flat()).toEqual(MIGRATIONS.map((m) => m.id));
    expect(await migrate(databaseUrl)).toEqual([]);
    const client = createDbClient(databaseUrl);
    try {
      const tables = await client.query<{ table_name: string }>("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name");
      expect(tables.map((t) => t.table_name)).toEqual(['aliases', 'audience_members', 'destinations', 'events', 'groups', 'rejected_events', 'retl_records', 'schema_migrations', 'sources', 'users', 'workspaces']);
      const unique = await client.query("SELECT indexdef FROM pg_indexes WHERE indexname = 'events_source_id_message_id_key'");
      expect(unique).toEqual([{ indexdef: 'CREATE UNIQUE INDEX events_source_id_message_id_key ON public.events USING btree (source_id, message_id)' }]);
    } finally {
      await client.close();
    }
  });
});
