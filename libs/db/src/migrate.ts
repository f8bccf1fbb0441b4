import { readFileSync } from 'node:fs';
import path from 'node:path';
import { drizzle } from 'drizzle-orm/node-postgres';
import { readMigrationFiles } from 'drizzle-orm/migrator';
import { migrate as drizzleMigrate } from 'drizzle-orm/node-postgres/migrator';
import { Client } from 'pg';

// Any fixed number: every process that migrates takes the same lock, so only one applies at a time.
const MIGRATION_LOCK = 7_301_245_119;

/**
 * The SQL migrations drizzle-kit generates from schema.ts (`npm run db:generate`). They sit beside
 * this file in the sources, and beside each app's bundle in a build (tools/build/bundle.mjs copies
 * them to dist/apps/<app>/migrations), so `__dirname` finds them in both.
 */
export const MIGRATIONS_FOLDER = path.join(__dirname, 'migrations');

// drizzle's defaults, spelled out because adopting a legacy database writes to them.
const MIGRATIONS_SCHEMA = 'drizzle';
const MIGRATIONS_TABLE = '__drizzle_migrations';
const MIGRATIONS_TABLE_DDL = `CREATE TABLE IF NOT EXISTS "${MIGRATIONS_SCHEMA}"."${MIGRATIONS_TABLE}" (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at bigint)`;

/**
 * Databases made before drizzle-kit recorded their hand-written migrations in `schema_migrations`.
 * Each one created exactly what the generated migration it maps to creates (the same tables,
 * columns, constraints and indexes, by name), so on such a database that migration is recorded as
 * applied rather than run. The table is left as it was: an older release started against the
 * database finds it up to date.
 */
const LEGACY_MIGRATIONS: ReadonlyArray<readonly [legacyId: string, tag: string]> = [
  ['0001_init', '0000_init'],
  ['0002_internal_api', '0001_internal_api'],
];

interface Migration {
  tag: string;
  when: number;
  hash: string;
}

/** The generated migrations, in the order they apply. */
export function listMigrations(folder = MIGRATIONS_FOLDER): Migration[] {
  const journal = JSON.parse(readFileSync(path.join(folder, 'meta/_journal.json'), 'utf8')) as { entries: Array<{ tag: string; when: number }> };
  const files = readMigrationFiles({ migrationsFolder: folder }); // one per journal entry, in its order
  return journal.entries.map((entry, i) => ({ tag: entry.tag, when: entry.when, hash: files[i].hash }));
}

function adminUrl(databaseUrl: string): { adminUrl: string; database: string } {
  const url = new URL(databaseUrl);
  const database = decodeURIComponent(url.pathname.replace(/^\//, '')) || 'postgres';
  url.pathname = '/postgres';
  return { adminUrl: url.toString(), database };
}

/** How long migrations wait for Postgres to accept a connection: a server that never answers fails instead of hanging. */
const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

export interface MigrateOptions {
  /** The migrations (default: the ones beside the bundle or in libs/db). */
  folder?: string;
  /** How long to wait for a connection (10 s by default). */
  connectTimeoutMs?: number;
}

/** Creates the database named in `databaseUrl` when it does not exist yet. */
export async function ensureDatabase(databaseUrl: string, connectTimeoutMs = DEFAULT_CONNECT_TIMEOUT_MS): Promise<void> {
  const { adminUrl: admin, database } = adminUrl(databaseUrl);
  const client = new Client({ connectionString: admin, connectionTimeoutMillis: connectTimeoutMs });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (found.rowCount === 0) {
      await client.query(`CREATE DATABASE "${database.replace(/"/g, '""')}"`).catch((error: { code?: string }) => {
        // Created meanwhile by another process: 42P04, or a unique violation when both raced in the catalog.
        if (error.code !== '42P04' && error.code !== '23505') throw error;
      });
    }
  } finally {
    await client.end();
  }
}

/** Drops a database (tests use one each); no error when it is gone already. */
export async function dropDatabase(databaseUrl: string): Promise<void> {
  const { adminUrl: admin, database } = adminUrl(databaseUrl);
  const client = new Client({ connectionString: admin });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS "${database.replace(/"/g, '""')}" WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

/**
 * Creates the database if needed and applies every generated migration not applied yet, with
 * drizzle's migrator, under an advisory lock. A database made by the hand-written migrations is
 * adopted first. Returns the tags it applied.
 */
export async function migrate(databaseUrl: string, options: MigrateOptions = {}): Promise<string[]> {
  const folder = options.folder ?? MIGRATIONS_FOLDER;
  const connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const migrations = listMigrations(folder);
  await ensureDatabase(databaseUrl, connectTimeoutMs);
  const client = new Client({ connectionString: databaseUrl, application_name: 'evt-migrate', connectionTimeoutMillis: connectTimeoutMs });
  client.on('error', () => undefined); // a lost connection fails the query in progress; no crash on top
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    await adoptLegacy(client, migrations);
    const last = await lastApplied(client);
    const applied = migrations.filter((m) => m.when > last).map((m) => m.tag);
    try {
      // All pending migrations run in one transaction: a failure leaves the database as it was.
      await drizzleMigrate(drizzle(client), { migrationsFolder: folder, migrationsSchema: MIGRATIONS_SCHEMA, migrationsTable: MIGRATIONS_TABLE });
    } catch (error) {
      throw new Error(`migrating (${applied.join(', ') || 'nothing pending'}) failed: ${(error as Error).message}`, { cause: error });
    }
    return applied;
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    await client.end();
  }
}

/** drizzle's rule: a migration is pending when it is newer than the newest one recorded. */
async function lastApplied(client: Client): Promise<number> {
  const exists = await client.query<{ found: boolean }>('SELECT to_regclass($1) IS NOT NULL AS found', [`"${MIGRATIONS_SCHEMA}"."${MIGRATIONS_TABLE}"`]);
  if (!exists.rows[0].found) return -1;
  const rows = await client.query<{ last: string | null }>(`SELECT max(created_at)::text AS last FROM "${MIGRATIONS_SCHEMA}"."${MIGRATIONS_TABLE}"`);
  return rows.rows[0].last === null ? -1 : Number(rows.rows[0].last);
}

/**
 * On a database with `schema_migrations` and no drizzle bookkeeping yet, records the generated
 * migrations that the legacy ones already applied, in one transaction with the bookkeeping table.
 */
async function adoptLegacy(client: Client, migrations: Migration[]): Promise<void> {
  const found = await client.query<{ legacy: boolean; drizzle: boolean }>(
    'SELECT to_regclass($1) IS NOT NULL AS legacy, to_regclass($2) IS NOT NULL AS drizzle',
    ['public.schema_migrations', `"${MIGRATIONS_SCHEMA}"."${MIGRATIONS_TABLE}"`],
  );
  if (!found.rows[0].legacy || found.rows[0].drizzle) return;
  const done = new Set((await client.query<{ id: string }>('SELECT id FROM schema_migrations')).rows.map((row) => row.id));
  const unknown = [...done].filter((id) => !LEGACY_MIGRATIONS.some(([legacyId]) => legacyId === id));
  if (unknown.length > 0) throw new Error(`schema_migrations lists migrations this release does not know: ${unknown.join(', ')}`);
  // The legacy runner applied them in order, so what is done is a prefix; drizzle then applies the rest.
  const adopted = LEGACY_MIGRATIONS.slice(0, done.size);
  if (adopted.some(([legacyId]) => !done.has(legacyId))) throw new Error(`schema_migrations has a gap: ${[...done].join(', ')}`);
  await client.query('BEGIN');
  try {
    await client.query(`CREATE SCHEMA IF NOT EXISTS "${MIGRATIONS_SCHEMA}"`);
    await client.query(MIGRATIONS_TABLE_DDL);
    for (const [legacyId, tag] of adopted) {
      const migration = migrations.find((m) => m.tag === tag);
      if (!migration) throw new Error(`legacy migration ${legacyId} maps to ${tag}, which is not in the migrations folder`);
      await client.query(`INSERT INTO "${MIGRATIONS_SCHEMA}"."${MIGRATIONS_TABLE}" (hash, created_at) VALUES ($1, $2)`, [migration.hash, migration.when]);
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK');
    throw error;
  }
}
