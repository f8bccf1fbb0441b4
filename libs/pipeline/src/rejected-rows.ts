import type { RejectedRow, UnitOfWork } from '@evt/db';
import { stableId } from '@evt/ingest';
import { isoOrNull } from './event-rows';
import { writeIsolated } from './isolate';

// Ids, source and workspace ids longer than this are not kept in a row's minimal form: they may
// be what the database refused (the btree of an index holds about 2,700 bytes).
const MAX_KEPT_ID_CHARS = 256;
const MAX_KEPT_REASON_CHARS = 1000;

/** A rejected_events id made from the parts that name what was refused: short whatever their length, the same on every retry. */
export function rejectionId(prefix: string, parts: string[]): string {
  return `${prefix}:${stableId(parts)}`;
}

/** The size of a value as JSON, in bytes. */
export function jsonSize(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value) ?? '');
}

function kept(id: string | null): string | null {
  return id !== null && id.length <= MAX_KEPT_ID_CHARS ? id : null;
}

/** What is left of a rejected row the database refused too: its id, reason and sizes, nothing it could refuse again. */
export function minimalRejectedRow(row: RejectedRow, reason: string): RejectedRow {
  const original = row.reason.length > MAX_KEPT_REASON_CHARS ? `${row.reason.slice(0, MAX_KEPT_REASON_CHARS)}…` : row.reason;
  return {
    id: row.id.length <= MAX_KEPT_ID_CHARS ? row.id : rejectionId('rejected', [row.id]),
    workspaceId: kept(row.workspaceId),
    sourceId: kept(row.sourceId),
    reason: `${original} (kept without its event: the database refused the row: ${reason})`,
    messageId: null,
    event: null,
    eventSize: row.eventSize ?? (row.event === null ? null : jsonSize(row.event)),
    receivedAt: isoOrNull(row.receivedAt) ?? new Date().toISOString(),
  };
}

/**
 * Inserts rejected rows, isolating those the database refuses: each of them is kept in its
 * minimal form instead. Says how many had to be.
 */
export async function insertRejectedIsolated(uow: UnitOfWork, rows: RejectedRow[]): Promise<number> {
  const { refused } = await writeIsolated(uow, rows, (inner, part) => inner.rejectedEvents.insert(part));
  await uow.rejectedEvents.insert(refused.map(({ item, reason }) => minimalRejectedRow(item, reason)));
  return refused.length;
}
