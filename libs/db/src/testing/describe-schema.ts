import type { DbClient } from '../client';

/**
 * What `pg_dump --schema-only` would say about the public schema, read from the catalogs (tests
 * run where pg_dump may be missing): columns with their types, nullability, defaults and
 * identity (of tables, partitioned ones and partitions), every constraint and index by name and
 * definition, and the sequences. Sorted, so two databases with the same schema describe equal.
 * `except` leaves tables out (bookkeeping).
 */
export async function describeSchema(client: DbClient, except: string[] = []) {
  const columns = await client.query(
    `SELECT c.relname AS table, a.attnum AS position, a.attname AS column, format_type(a.atttypid, a.atttypmod) AS type,
            a.attnotnull AS not_null, pg_get_expr(d.adbin, d.adrelid) AS default, a.attidentity AS identity, a.attgenerated AS generated
       FROM pg_attribute a
       JOIN pg_class c ON c.oid = a.attrelid AND c.relkind IN ('r', 'p')
       JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
       LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      WHERE a.attnum > 0 AND NOT a.attisdropped AND NOT (c.relname = ANY($1))
      ORDER BY c.relname, a.attnum`,
    [except],
  );
  const constraints = await client.query(
    `SELECT c.relname AS table, k.conname AS name, pg_get_constraintdef(k.oid) AS definition
       FROM pg_constraint k
       JOIN pg_class c ON c.oid = k.conrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
      WHERE NOT (c.relname = ANY($1))
      ORDER BY c.relname, k.conname`,
    [except],
  );
  const indexes = await client.query(
    `SELECT tablename AS table, indexname AS name, indexdef AS definition FROM pg_indexes
      WHERE schemaname = 'public' AND NOT (tablename = ANY($1)) ORDER BY tablename, indexname`,
    [except],
  );
  const sequences = await client.query(
    `SELECT sequencename AS name, data_type::text AS type, start_value::text AS start, min_value::text AS min, max_value::text AS max,
            increment_by::text AS increment, cache_size::text AS cache, cycle
       FROM pg_sequences WHERE schemaname = 'public' ORDER BY sequencename`,
  );
  return { columns, constraints, indexes, sequences };
}
