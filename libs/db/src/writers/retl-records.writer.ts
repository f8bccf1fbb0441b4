import { sql, type SQL } from 'drizzle-orm';
import { retlRecords } from '../schema';
import { insertFromJson, type JsonObject, type Statements } from './statements';

/**
 * A record's net change within one job, already folded: `replace` (an insert, maybe followed by
 * updates), `merge` (updates only) or `delete`. `lastAction` is what the client last asked.
 * `deleted` follows from the mode; updated_at is the database's.
 */
export type RetlRecordWrite = Required<Omit<typeof retlRecords.$inferInsert, 'deleted' | 'updatedAt' | 'fields'>> & {
  mode: 'replace' | 'merge' | 'delete';
  fields: JsonObject;
};

// What each mode does to a record that exists; every mode inserts a record that does not.
const SET: Record<RetlRecordWrite['mode'], SQL> = {
  replace: sql.raw('fields = excluded.fields, deleted = false'),
  merge: sql.raw('fields = retl_records.fields || excluded.fields, deleted = false'),
  delete: sql.raw('deleted = true'),
};

const KEYS = [
  'sourceId',
  'destinationId',
  'recordId',
  'workspaceId',
  'fields',
  'deleted',
  'lastAction',
  'messageId',
  'receivedAt',
  'sequence',
  'sequenceIndex',
] as const;

/** Writes `retl_records`. */
export class RetlRecordsWriter {
  constructor(private readonly statements: Statements) {}

  /**
   * Applies rETL records: one row per (source, destination, record id). A write older than the
   * row's (sequence, index) changes nothing, so a job run twice, or late, leaves the rows as they are.
   * Rows must be unique per key.
   */
  async upsert(rows: RetlRecordWrite[]): Promise<void> {
    for (const mode of ['replace', 'merge', 'delete'] as const) {
      const selected = rows.filter((row) => row.mode === mode).map((row) => ({ ...row, deleted: mode === 'delete' }));
      if (selected.length === 0) continue;
      await this.statements.execute(sql`${insertFromJson(retlRecords, KEYS, selected)}
        ON CONFLICT (source_id, destination_id, record_id) DO UPDATE SET ${SET[mode]},
          last_action = excluded.last_action, message_id = excluded.message_id, received_at = excluded.received_at,
          sequence = excluded.sequence, sequence_index = excluded.sequence_index, updated_at = now()
        WHERE (retl_records.sequence, retl_records.sequence_index) < (excluded.sequence, excluded.sequence_index)`);
    }
  }
}
