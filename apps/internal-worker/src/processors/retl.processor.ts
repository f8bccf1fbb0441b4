import type { EventStore, RejectedRow, RetlRecordWrite } from '@evt/db';
import type { Logger } from '@evt/logging';
import { isoOrNull, jsonSize, rejectionId, splitJob, writeIsolating } from '@evt/pipeline';
import { QUEUES, RetlItem, Validator, type ItemOf } from '@evt/schemas';

const itemCheck = new Validator(RetlItem);

export interface RetlOutcome {
  records: number;
  rejected: number;
}

/** Folds one record's writes, oldest first, into its net change: what the database applies. */
export function foldRecordWrites(items: RetlItem[]): RetlRecordWrite {
  let mode: RetlRecordWrite['mode'] | undefined;
  let fields: Record<string, unknown> = {};
  for (const item of items) {
    if (item.action === 'insert' || (item.action === 'update' && mode === 'delete')) {
      mode = 'replace';
      fields = { ...item.fields };
    } else if (item.action === 'update') {
      mode = mode ?? 'merge';
      fields = { ...fields, ...item.fields };
    } else {
      mode = 'delete';
    }
  }
  const last = items[items.length - 1];
  return {
    sourceId: last.sourceId,
    destinationId: last.destinationId,
    recordId: last.recordId,
    workspaceId: last.workspaceId,
    mode: mode ?? 'replace',
    lastAction: last.action,
    fields,
    messageId: last.messageId,
    receivedAt: last.receivedAt,
    sequence: last.sequence,
    sequenceIndex: last.index,
  };
}

const byOrder = (a: RetlItem, b: RetlItem) => a.sequence - b.sequence || a.index - b.index;

/** The rejected_events row of a record write the database refused, with the database's reason. */
function refusedRecordRow(write: RetlRecordWrite, reason: string): RejectedRow {
  return {
    id: rejectionId('refused', [write.sourceId, write.destinationId, write.recordId, write.messageId]),
    workspaceId: write.workspaceId,
    sourceId: write.sourceId,
    reason: `database refused the record: ${reason}`,
    messageId: write.messageId,
    event: write,
    eventSize: jsonSize(write),
    // The record's own time may be what was refused: keep a time the row can hold.
    receivedAt: isoOrNull(write.receivedAt) ?? new Date().toISOString(),
  };
}

/**
 * A job of the `retl` queue: records upserted into retl_records by (source, destination, record
 * id), honouring each record's action, in one transaction. Every write carries its order, so a
 * job run twice (or after a newer one) changes nothing. A malformed item, or a record the
 * database refuses, goes to rejected_events; the other records are stored.
 */
export async function processRetlJob(data: unknown, jobId: string, deps: { store: EventStore; logger: Logger }): Promise<RetlOutcome> {
  const job = { queue: QUEUES.retl.name, id: jobId };
  const split = splitJob<ItemOf<'retl'>>(data, job, QUEUES.retl.itemsKey, itemCheck, deps.logger);
  const byRecord = new Map<string, RetlItem[]>();
  for (const item of split.items) {
    const key = JSON.stringify([item.sourceId, item.destinationId, item.recordId]);
    byRecord.set(key, [...(byRecord.get(key) ?? []), item]);
  }
  const writes = [...byRecord.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)) // one lock order for every worker
    .map(([, items]) => foldRecordWrites(items.sort(byOrder)));
  if (writes.length === 0 && split.rejected.length === 0) return { records: 0, rejected: 0 };
  const outcome = await writeIsolating({
    ...deps,
    jobs: [job],
    rows: writes,
    rejected: split.rejected,
    write: (uow, part) => uow.retlRecords.upsert(part),
    refusedRows: (refusals) => refusals.map(({ item, reason }) => refusedRecordRow(item, reason)),
  });
  return { records: writes.length - outcome.refused, rejected: outcome.rejected };
}
