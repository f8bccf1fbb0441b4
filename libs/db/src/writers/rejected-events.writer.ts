import { sql } from 'drizzle-orm';
import type { RejectedEvent } from '@evt/schemas';
import { rejectedEvents } from '../schema';
import { insertFromJson, type Statements } from './statements';

/** A `rejected_events` row: every column but stored_at, which the database fills. */
export type RejectedRow = Required<Omit<typeof rejectedEvents.$inferInsert, 'storedAt'>>;

const KEYS = ['id', 'workspaceId', 'sourceId', 'reason', 'messageId', 'event', 'eventSize', 'receivedAt'] as const;

/** A rejected event of a job as its rejected_events row. */
export function toRejectedRow(rejected: RejectedEvent): RejectedRow {
  return {
    id: rejected.id,
    workspaceId: rejected.workspaceId,
    sourceId: rejected.sourceId,
    reason: rejected.reason,
    messageId: rejected.messageId ?? null,
    event: rejected.event ?? null,
    eventSize: rejected.eventSize ?? null,
    receivedAt: rejected.receivedAt,
  };
}

/** Writes `rejected_events`. */
export class RejectedEventsWriter {
  constructor(private readonly statements: Statements) {}

  /** Inserts rejections; one already stored (same id: a retried job) is kept as it is. */
  async insert(rows: RejectedRow[]): Promise<void> {
    if (rows.length === 0) return;
    await this.statements.execute(sql`${insertFromJson(rejectedEvents, KEYS, rows)}
      ON CONFLICT (id) DO NOTHING`);
  }
}
