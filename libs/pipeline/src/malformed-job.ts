import { toRejectedRow, type RejectedRow } from '@evt/db';
import { isPlainObject } from '@evt/ingest';
import type { Logger } from '@evt/logging';
import { RejectedEvent, Validator } from '@evt/schemas';
import { isoOrNull } from './event-rows';
import { jsonSize } from './rejected-rows';

/** Which job is being stored: its queue and id name the rejected-event records of its malformed items. */
export interface JobRef {
  queue: string;
  id: string;
}

/** The one question asked of an item: why it does not match its schema, if it does not. */
export interface ItemCheck {
  reason(value: unknown): string | undefined;
}

/** A job's items that match their schema, and the rows it adds to rejected_events. */
export interface SplitJob<T> {
  items: T[];
  /** The rejections the gateway put in the job, then one row per malformed item (or for the whole job). */
  rejected: RejectedRow[];
}

// A malformed item or job is kept in rejected_events only up to this size.
const MAX_KEPT_BYTES = 1024 * 1024;

const rejectedCheck = new Validator(RejectedEvent);

function text(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}

/** The row of one malformed item: its source and workspace kept when readable, so an admin sees whose it was. */
function malformedItemRow(job: JobRef, path: string, item: unknown, reason: string): RejectedRow {
  const fields = isPlainObject(item) ? item : {};
  // An events item wraps the event: keep the event itself, so `rejected retry` can send it again.
  const event = isPlainObject(fields.event) ? fields.event : undefined;
  const kept = event ?? item;
  const size = jsonSize(kept);
  return {
    id: `job:${job.queue}:${job.id}:${path}`,
    workspaceId: text(fields.workspaceId),
    sourceId: text(fields.sourceId),
    reason: `malformed ${job.queue} job: ${path}: ${reason}`,
    messageId: text(event?.messageId ?? fields.messageId),
    event: size <= MAX_KEPT_BYTES ? (kept ?? null) : null,
    eventSize: size,
    receivedAt: isoOrNull(event?.receivedAt ?? fields.receivedAt) ?? new Date().toISOString(),
  };
}

function malformedJobRow(job: JobRef, data: unknown, reason: string): RejectedRow {
  const size = jsonSize(data);
  return {
    id: `job:${job.queue}:${job.id}`,
    workspaceId: null,
    sourceId: null,
    reason: `malformed ${job.queue} job: ${reason}`,
    messageId: null,
    event: size <= MAX_KEPT_BYTES ? (data ?? null) : null,
    eventSize: size,
    receivedAt: new Date().toISOString(),
  };
}

/**
 * Checks a job item by item: the items that match their schema are returned to be stored, each
 * that does not becomes its own rejected_events row with its reason, and its source and
 * workspace when they can be read. Only a payload that is not `{ <itemsKey>: [...], rejected:
 * [...] }` is set aside whole, as one row without a source.
 */
export function splitJob<T>(data: unknown, job: JobRef, itemsKey: string, itemCheck: ItemCheck, logger: Logger): SplitJob<T> {
  const shape = !isPlainObject(data)
    ? 'job must be an object'
    : !Array.isArray(data[itemsKey])
      ? `${itemsKey} must be an array`
      : !Array.isArray(data.rejected)
        ? 'rejected must be an array'
        : undefined;
  if (shape !== undefined) {
    logger.error({ queue: job.queue, jobId: job.id, reason: shape }, 'malformed job set aside in rejected_events');
    return { items: [], rejected: [malformedJobRow(job, data, shape)] };
  }
  const payload = data as Record<string, unknown[]>;
  const split: SplitJob<T> = { items: [], rejected: [] };
  const malformed: RejectedRow[] = [];
  payload[itemsKey].forEach((item, index) => {
    const reason = itemCheck.reason(item);
    if (reason === undefined) split.items.push(item as T);
    else malformed.push(malformedItemRow(job, `${itemsKey}.${index}`, item, reason));
  });
  payload.rejected.forEach((item, index) => {
    const reason = rejectedCheck.reason(item);
    if (reason === undefined) split.rejected.push(toRejectedRow(item as RejectedEvent));
    else malformed.push(malformedItemRow(job, `rejected.${index}`, item, reason));
  });
  if (malformed.length > 0) {
    logger.error({ queue: job.queue, jobId: job.id, items: malformed.length, reason: malformed[0].reason }, 'malformed job items set aside in rejected_events');
  }
  split.rejected.push(...malformed);
  return split;
}
