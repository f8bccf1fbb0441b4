import { RejectedEventsRepository, type DbClient, type RejectedEventRecord } from '@evt/db';
import { ServiceUnavailableError } from '@evt/errors';
import { isPlainObject, validateAndEnrich, type Dictionary } from '@evt/ingest';
import { QueueProducers } from '@evt/queue';
import { isEventType, isUnstorableReason, type QueuedEvent, type RejectedEvent } from '@evt/schemas';

export interface RetryRejectedOptions {
  db: DbClient;
  redisUrl: string;
  queuePrefix: string;
  eventsQueueShards: number;
  maxEventSize: number;
  /** Only this source's rejections. */
  sourceId?: string;
  /** Only these rejections. */
  ids?: string[];
  /** At most this many rows examined; all when unset. */
  limit?: number;
  /** Examine and report, but enqueue and delete nothing. */
  dryRun: boolean;
  /** Rows read per page, and events per job at most (500). */
  batchSize?: number;
  /** Start after this id: a previous run's `lastId`. */
  afterId?: string;
  /** Called after each page with a copy of the summary so far. */
  onProgress?: (summary: RetrySummary) => void;
}

export interface RetrySummary {
  /** Rows looked at, whatever came of them. */
  examined: number;
  /** Rows enqueued and deleted; in a dry run, rows that would be. */
  retried: number;
  /** Rows that still fail validation: they stay, under the reason they fail now. */
  stillRejected: number;
  /** Rows that cannot go through the pipeline again at all (notRetriable): they stay. */
  skipped: number;
  /** Rows not retried, by the reason (still rejected or skipped). */
  reasons: Record<string, number>;
  /** The id of the last row examined: pass it as afterId to go on from there. */
  lastId?: string;
  /** The first MAX_SUMMARY_ROWS rows examined, in id order; the counts cover them all. */
  rows: Array<{ id: string; result: 'retried' | 'would retry' | 'still rejected' | 'skipped'; reason?: string }>;
}

/** Rows kept in a summary: a run over a million rejections must not hold a line for each. */
export const MAX_SUMMARY_ROWS = 1000;
const DEFAULT_BATCH_SIZE = 500;
// The gateway's ENQUEUE_MAX_BYTES default: a job the events worker takes whole.
const MAX_BYTES_PER_JOB = 4 * 1024 * 1024;
const ENQUEUE_TIMEOUT_MS = 30_000;

/** A run stopped because the queue did not take a page's events; `summary` says how far it got (resume from its lastId). */
export class RetryInterruptedError extends Error {
  constructor(
    readonly summary: RetrySummary,
    options: { cause: unknown },
  ) {
    const error = options.cause;
    const cause = error instanceof ServiceUnavailableError ? error.reason : error instanceof Error ? error.message : String(error);
    const resume = summary.lastId !== undefined ? `; resume after ${summary.lastId}` : '';
    super(`retry stopped: the events queue refused a page (${cause}) after ${summary.retried} retried${resume}`, options);
    this.name = 'RetryInterruptedError';
  }
}

/** Why what was kept of a rejected event cannot go through the pipeline again, or undefined when it can. */
export function notRetriable(row: RejectedEventRecord): string | undefined {
  if (!row.sourceId || !row.workspaceId) return 'not an event of a source (a malformed job)';
  if (!isPlainObject(row.event)) return 'only its size was kept';
  // The kept trace has U+FFFD where the client sent what Postgres cannot store: never store it altered.
  if (isUnstorableReason(row.reason)) return 'the event as sent cannot be stored exactly (the kept copy is altered)';
  if (!isEventType(row.event.type)) return 'not an event of the public API';
  return undefined;
}

/** Validates and enriches a rejected event again, as the gateway would have with its receivedAt: the reason it still fails, or undefined once it is in `accepted`. */
export function stillRejected(row: RejectedEventRecord, maxEventSize: number, accepted: QueuedEvent[]): string | undefined {
  const receivedAtMs = Date.parse(row.receivedAt);
  const rejected: RejectedEvent[] = [];
  validateAndEnrich(
    {
      source: { id: row.sourceId as string, workspaceId: row.workspaceId as string },
      events: [{ ...(row.event as Dictionary), receivedAt: row.receivedAt }],
      request: { receivedAt: new Date(receivedAtMs).toISOString(), receivedAtMs, requestIp: undefined, keepOriginal: true },
      bytes: 0,
    },
    maxEventSize,
    accepted,
    rejected,
  );
  return rejected[0]?.reason;
}

/**
 * The row with a messageId when its kept event has none: the gateway named such a rejection with
 * a random UUID, which then serves as the messageId enrichment would otherwise draw afresh on each
 * retry, so that the same row enqueued twice (see retryRejected) is one event to the worker's dedup.
 */
function withStableMessageId(row: RejectedEventRecord): RejectedEventRecord {
  const event = row.event as Dictionary;
  if (event.messageId !== undefined && event.messageId !== null && event.messageId !== '') return row;
  return { ...row, event: { ...event, messageId: row.id } };
}

function openProducers(options: RetryRejectedOptions, batchSize: number): QueueProducers {
  return new QueueProducers({
    redisUrl: options.redisUrl,
    prefix: options.queuePrefix,
    eventsShards: options.eventsQueueShards,
    timeoutMs: ENQUEUE_TIMEOUT_MS,
    maxItemsPerJob: batchSize,
    maxBytesPerJob: MAX_BYTES_PER_JOB,
    // The page is in memory already and bounds what waits for Redis; the gateway's backlog bound guards against its clients.
    maxPendingBytes: Number.MAX_SAFE_INTEGER,
  });
}

function copyOf(summary: RetrySummary): RetrySummary {
  return { ...summary, reasons: { ...summary.reasons }, rows: summary.rows.slice() };
}

function record(summary: RetrySummary, id: string, result: RetrySummary['rows'][number]['result'], reason?: string): void {
  summary.examined++;
  if (result === 'retried' || result === 'would retry') summary.retried++;
  else {
    if (result === 'still rejected') summary.stillRejected++;
    else summary.skipped++;
    const key = reason ?? '';
    summary.reasons[key] = (summary.reasons[key] ?? 0) + 1;
  }
  if (summary.rows.length < MAX_SUMMARY_ROWS) summary.rows.push(reason !== undefined ? { id, result, reason } : { id, result });
}

function positiveInteger(name: string, value: number | undefined): void {
  if (value !== undefined && (!Number.isInteger(value) || value < 1)) throw new RangeError(`${name} must be a whole number above 0, got ${value}`);
}

/**
 * Sends rejected events through the gateway's validation and enrichment again (validateAndEnrich)
 * and enqueues those that pass now (a limit was raised, a rule relaxed, a database constraint
 * dropped); they keep their receivedAt. Pages through rejected_events in id order from `afterId`,
 * `batchSize` rows at a time, so a run visits each row once (rows that still fail are not taken
 * again) and a run stopped anywhere resumes from its summary's lastId. Each page's events go to the
 * events queue in jobs of at most `batchSize` events and 4 MB; once Redis has acknowledged them,
 * their rows are deleted. Rows that still fail stay, with the reason they fail now counted.
 * Throws RetryInterruptedError, with the summary of the pages done, when Redis refuses a page.
 */
export async function retryRejected(options: RetryRejectedOptions): Promise<RetrySummary> {
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  positiveInteger('batchSize', batchSize);
  positiveInteger('limit', options.limit);
  const repository = new RejectedEventsRepository(options.db.db);
  const summary: RetrySummary = { examined: 0, retried: 0, stillRejected: 0, skipped: 0, reasons: {}, rows: [] };
  if (options.afterId !== undefined) summary.lastId = options.afterId;
  let producers: QueueProducers | undefined;
  try {
    for (;;) {
      const wanted = options.limit === undefined ? batchSize : Math.min(batchSize, options.limit - summary.examined);
      if (wanted <= 0) break;
      const page = await repository.pageAfter({ afterId: summary.lastId, sourceId: options.sourceId, ids: options.ids, limit: wanted });
      if (page.length === 0) break;

      const outcomes: Array<{ id: string; reason?: string; skipped?: boolean }> = [];
      const passing: Array<{ id: string; event: QueuedEvent }> = [];
      for (const row of page) {
        const skipped = notRetriable(row);
        if (skipped !== undefined) {
          outcomes.push({ id: row.id, reason: skipped, skipped: true });
          continue;
        }
        const accepted: QueuedEvent[] = [];
        const reason = stillRejected(withStableMessageId(row), options.maxEventSize, accepted);
        outcomes.push({ id: row.id, reason });
        if (reason === undefined) passing.push({ id: row.id, event: accepted[0] });
      }

      if (!options.dryRun && passing.length > 0) {
        if (producers === undefined) {
          producers = openProducers(options, batchSize);
          await producers.waitUntilReady();
        }
        const events = producers.events;
        // One request per event, all in this turn of the event loop: the producer packs them into
        // jobs of at most batchSize events and MAX_BYTES_PER_JOB, each answered once Redis has it.
        const settled = await Promise.allSettled(
          passing.map(({ event }) => events.enqueue({ items: [event], rejected: [], bytes: Buffer.byteLength(JSON.stringify(event)) })),
        );
        const enqueued = passing.filter((_, i) => settled[i].status === 'fulfilled').map(({ id }) => id);
        // Deleted only once Redis holds their jobs. A crash before this delete leaves rows whose
        // events are queued; a later retry enqueues them again, and the events worker stores the
        // second copy as a duplicate of the first (same source and messageId: withStableMessageId)
        // and drops it. Never the other way round: a row deleted first would be lost with the job.
        await repository.delete(enqueued);
        const failure = settled.find((result): result is PromiseRejectedResult => result.status === 'rejected');
        if (failure !== undefined) {
          // The page's enqueued rows are gone; the rest are examined again from the previous lastId.
          for (const id of enqueued) record(summary, id, 'retried');
          options.onProgress?.(copyOf(summary));
          throw new RetryInterruptedError(copyOf(summary), { cause: failure.reason });
        }
      }

      for (const outcome of outcomes) {
        if (outcome.skipped) record(summary, outcome.id, 'skipped', outcome.reason);
        else if (outcome.reason !== undefined) record(summary, outcome.id, 'still rejected', outcome.reason);
        else record(summary, outcome.id, options.dryRun ? 'would retry' : 'retried');
      }
      summary.lastId = page[page.length - 1].id;
      options.onProgress?.(copyOf(summary));
      if (page.length < wanted) break;
    }
  } finally {
    await producers?.close();
  }
  return summary;
}
