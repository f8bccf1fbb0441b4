import type { EventStore, RetlRecordWrite } from '@evt/db';
import type { Logger } from '@evt/logging';
import { setAsideMalformedJob, toRejectedRow } from '@evt/pipeline';
import { QUEUE_NAMES, RetlJob, Validator, type RetlItem } from '@evt/schemas';

const jobValidator = new Validator(RetlJob);

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

/**
 * A job of the `retl` queue: records upserted into retl_records by (source, destination, record
 * id), honouring each record's action, in one transaction. Every write carries its order, so a
 * job run twice (or after a newer one) changes nothing.
 */
export async function processRetlJob(data: unknown, jobId: string, deps: { store: EventStore; logger: Logger }): Promise<RetlOutcome> {
  const reason = jobValidator.reason(data);
  if (reason !== undefined) {
    await setAsideMalformedJob(deps.store, { queue: QUEUE_NAMES.retl, id: jobId }, data, reason, deps.logger);
    return { records: 0, rejected: 1 };
  }
  const job = data as RetlJob;
  const byRecord = new Map<string, RetlItem[]>();
  for (const item of job.records) {
    const key = JSON.stringify([item.sourceId, item.destinationId, item.recordId]);
    byRecord.set(key, [...(byRecord.get(key) ?? []), item]);
  }
  const writes = [...byRecord.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)) // one lock order for every worker
    .map(([, items]) => foldRecordWrites(items.sort(byOrder)));
  await deps.store.transaction(async (session) => {
    await session.upsertRetlRecords(writes);
    await session.insertRejected(job.rejected.map(toRejectedRow));
  });
  return { records: writes.length, rejected: job.rejected.length };
}
