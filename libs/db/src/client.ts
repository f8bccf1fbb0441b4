import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import { Pool, type PoolClient } from 'pg';
import * as schema from './schema';

export type Database = NodePgDatabase<typeof schema>;

export interface DbClient {
  readonly db: Database;
  /** Round trip to the server; rejects when it is unreachable. */
  ping(): Promise<void>;
  /** A connection of its own from the pool, for work that spans statements (transactions, COPY). Release it. */
  connect(): Promise<PoolClient>;
  /** A parameterised SQL query, for admin tools and tests. */
  query<T extends Record<string, unknown> = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

export interface DbClientOptions {
  max?: number;
  applicationName?: string;
  /** How long to wait for a connection (5 s by default). */
  connectTimeoutMs?: number;
  /** Postgres's statement_timeout for every statement of this client (admin tools); none by default. */
  statementTimeoutMs?: number;
}

/** A pooled connection to the product's database. */
export function createDbClient(databaseUrl: string, options: DbClientOptions = {}): DbClient {
  const pool = new Pool({
    connectionString: databaseUrl,
    max: options.max ?? 10,
    application_name: options.applicationName ?? 'evt',
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
    ...(options.statementTimeoutMs ? { statement_timeout: options.statementTimeoutMs } : {}),
    // The events worker stages each group commit in a temporary table: keep it in memory.
    options: '-c temp_buffers=64MB',
    idleTimeoutMillis: 30_000,
  });
  // An idle client losing its connection (Postgres restarted) must not crash the process;
  // the next query fails and is retried by its caller.
  pool.on('error', () => undefined);
  const db = drizzle(pool, { schema });
  let closed = false;
  return {
    db,
    async ping() {
      await pool.query('SELECT 1');
    },
    connect() {
      return pool.connect();
    },
    async query<T extends Record<string, unknown>>(text: string, params: unknown[] = []) {
      return (await pool.query<T>(text, params)).rows;
    },
    async close() {
      if (closed) return;
      closed = true;
      await pool.end();
    },
  };
}
