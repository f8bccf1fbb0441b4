import type { DbClient } from '@evt/db';

/** The source the prefilled rows belong to: not the bench's, so (c)'s own counts are untouched. */
export const PREFILL_SOURCE = 'bench-prefill';

// Rows per statement: one transaction each, so a long prefill commits as it goes.
const CHUNK = 500_000;

/**
 * Grows `events` to `rows` rows of another source before (c), so (c) runs against a table and a
 * dedup index (event_keys' primary key) of that size (the index falling out of memory is the
 * usual cliff). messageIds are md5 hex, as random as SDKs' UUIDs, so their index entries land all
 * over the index as real traffic's do; payloads are small (the heap's size is not what is
 * measured). Then VACUUM ANALYZE, as autovacuum would have done by then. Returns the seconds it took.
 */
export async function prefillEvents(db: DbClient, workspaceId: string, rows: number, log: (line: string) => void): Promise<number> {
  const started = Date.now();
  const existing = (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM events WHERE source_id = $1', [PREFILL_SOURCE]))[0].n;
  for (let from = existing; from < rows; from += CHUNK) {
    const to = Math.min(rows, from + CHUNK);
    // Each row's dedup key too: event_keys' primary key is the index whose size is the cliff now.
    await db.query(
      `WITH prefill AS (
         SELECT i, md5('prefill-' || i) AS message_id, now() - make_interval(secs => ($4 - i) / 1000.0) AS received_at
           FROM generate_series($3::bigint, $4::bigint - 1) AS i),
       keys AS (INSERT INTO event_keys (source_id, message_id, received_at) SELECT $2, message_id, received_at FROM prefill)
       INSERT INTO events (workspace_id, source_id, message_id, type, user_id, anonymous_id, rudder_id, event, received_at, "timestamp", payload)
       SELECT $1, $2, message_id, 'track', 'user-' || (i % 100000), NULL, NULL, 'Order Completed', received_at, received_at,
              jsonb_build_object('type', 'track', 'event', 'Order Completed', 'properties', jsonb_build_object('i', i))
         FROM prefill`,
      [workspaceId, PREFILL_SOURCE, from, to],
    );
    log(`  prefill: ${to.toLocaleString('en')} of ${rows.toLocaleString('en')} rows (${((Date.now() - started) / 1000).toFixed(0)} s)`);
  }
  await db.query('VACUUM ANALYZE events, event_keys');
  return (Date.now() - started) / 1000;
}

/** The sizes an admin would look at: table, unique index, all indexes, and how much of them shared_buffers can hold. */
export async function eventsTableSizes(
  db: DbClient,
): Promise<{ rows: number; tableMb: number; uniqueIndexMb: number; indexesMb: number; sharedBuffersMb: number }> {
  const [row] = await db.query<{ rows: number; table_mb: number; unique_mb: number; indexes_mb: number; shared_mb: number }>(
    // events is partitioned: its figures are its partitions' sums. reltuples is -1 for a table
    // never analysed, that is, a new and small one. The unique index is the dedup key's.
    `WITH parts AS (SELECT inhrelid AS oid FROM pg_inherits WHERE inhparent = 'events'::regclass)
     SELECT (SELECT coalesce(sum(greatest(c.reltuples, 0)), 0) FROM pg_class c JOIN parts USING (oid))::float8 AS rows,
            (SELECT coalesce(sum(pg_table_size(oid)), 0) FROM parts) / 1048576.0 AS table_mb,
            pg_relation_size('event_keys_pkey') / 1048576.0 AS unique_mb,
            ((SELECT coalesce(sum(pg_indexes_size(oid)), 0) FROM parts) + pg_indexes_size('event_keys')) / 1048576.0 AS indexes_mb,
            (SELECT setting::bigint * 8192 / 1048576.0 FROM pg_settings WHERE name = 'shared_buffers') AS shared_mb`,
  );
  return {
    rows: Math.round(Number(row.rows)),
    tableMb: Math.round(Number(row.table_mb)),
    uniqueIndexMb: Math.round(Number(row.unique_mb)),
    indexesMb: Math.round(Number(row.indexes_mb)),
    sharedBuffersMb: Math.round(Number(row.shared_mb)),
  };
}
