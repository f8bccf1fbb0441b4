import { getTableColumns, sql, type SQL } from 'drizzle-orm';
import type { PgTable } from 'drizzle-orm/pg-core';
import { sanitizeJsonForPostgres } from '../json';

/**
 * What a writer may run, on the unit of work's connection. Every method rejects with one of our
 * errors (libs/errors), never a driver error: the unit of work translates them.
 */
export interface Statements {
  /** A drizzle statement (parameters bound, never spliced). */
  execute(statement: SQL): Promise<void>;
  /** SQL text without parameters, and its rows: for statements built from constants only. */
  query<R extends Record<string, unknown>>(text: string): Promise<R[]>;
  /** Streams rows into `table` with COPY … FROM STDIN. */
  copy(table: string, columns: string[], rows: Iterable<unknown[]>): Promise<void>;
  /**
   * COPYs rows into `table` inside a savepoint; resolves false, with none of them written, when
   * one breaks the unique `constraint` (a row stored before), true when all went in.
   */
  copyUnlessDuplicate(table: string, columns: string[], rows: Iterable<unknown[]>, constraint: string): Promise<boolean>;
}

/** A JSON object stored in a jsonb column (drizzle infers jsonb as unknown). */
export type JsonObject = Record<string, unknown>;

type ColumnKey<T extends PgTable> = keyof T['_']['columns'] & string;

/**
 * `INSERT INTO table (columns) SELECT columns FROM jsonb_to_recordset(<rows>) AS r(<column> <type>, …)`:
 * the rows as one jsonb parameter, so one statement writes thousands of rows. Names and types
 * come from schema.ts; the caller adds its ON CONFLICT clause.
 */
export function insertFromJson<T extends PgTable, K extends ColumnKey<T>>(table: T, keys: readonly K[], rows: ReadonlyArray<{ [key in K]: unknown }>): SQL {
  const all = getTableColumns(table) as Record<string, T['_']['columns'][string]>;
  const columns = keys.map((key) => all[key]);
  const names = sql.raw(columns.map((column) => `"${column.name}"`).join(', '));
  const types = sql.raw(columns.map((column) => `"${column.name}" ${column.getSQLType()}`).join(', '));
  const records = rows.map((row) => {
    const record: Record<string, unknown> = {};
    keys.forEach((key, i) => {
      record[columns[i].name] = row[key] ?? null;
    });
    return record;
  });
  const json = sanitizeJsonForPostgres(JSON.stringify(records));
  return sql`INSERT INTO ${table} (${names}) SELECT ${names} FROM jsonb_to_recordset(${json}::jsonb) AS r(${types})`;
}
