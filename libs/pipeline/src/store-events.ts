import type { EventRow, EventStore, RejectedRow, UnitOfWork } from '@evt/db';
import type { Logger } from '@evt/logging';
import { QueuedEvent, Validator } from '@evt/schemas';
import { profileChanges, toEventRow } from './event-rows';
import { splitJob, type JobRef } from './malformed-job';
import { jsonSize, rejectionId } from './rejected-rows';
import { writeIsolating } from './write-isolating';

const itemCheck = new Validator(QueuedEvent);

// A refused event is kept whole in rejected_events up to this size (events are at most
// MAX_EVENT_SIZE anyway), so `rejected retry` can send it again.
const MAX_KEPT_EVENT_BYTES = 1024 * 1024;

export interface StoreEventsDeps {
  store: EventStore;
  logger: Logger;
  /**
   * Called once a commit is durable, with what gives the events it stored (for `evt events tail`):
   * worked out only if called, as most commits have nobody tailing. Events a commit found stored
   * before are left out when it can tell: see newRows.
   */
  onStored?: (stored: () => EventRow[]) => void;
}

export interface EventsOutcome {
  stored: number;
  duplicates: number;
  rejected: number;
}

/** The first row of each (source, messageId), as the writer stores them. */
function distinctRows(rows: EventRow[]): EventRow[] {
  const seen = new Set<string>();
  return rows.filter((row) => {
    const key = `${row.sourceId}\u0000${row.messageId}`;
    return seen.has(key) ? false : (seen.add(key), true);
  });
}

/**
 * The rows an insert stored: all of them when every one was new (the common case), none when
 * none was. The writer counts but does not name the new ones otherwise, so when a write mixes new
 * events and events stored before (a resend committed in one group with new events), all are
 * taken: the tail may show such a resend again.
 */
function newRows(rows: EventRow[], inserted: number): EventRow[] {
  if (inserted === 0) return [];
  return distinctRows(rows);
}

/** Inserts the rows; how many were new, and the new ones that change profiles. */
async function writeEvents(uow: UnitOfWork, rows: EventRow[]): Promise<{ inserted: number; profileRows: EventRow[] }> {
  const result = await uow.events.insert(rows);
  const keys = new Set(result.profileKeys.map((key) => `${key.sourceId}\u0000${key.messageId}`));
  return { inserted: result.inserted, profileRows: rows.filter((row) => keys.delete(`${row.sourceId}\u0000${row.messageId}`)) };
}

/** Profiles follow only the events stored now, so a job run twice changes them once. */
async function writeProfiles(uow: UnitOfWork, stored: EventRow[]): Promise<void> {
  const changes = profileChanges(stored);
  await uow.users.upsert(changes.users);
  await uow.groups.upsert(changes.groups);
  await uow.aliases.insert(changes.aliases);
}

/** Events and the profiles they change, as one unit: a profile the database refuses refuses its event. */
async function writeEventsWithProfiles(uow: UnitOfWork, rows: EventRow[]): Promise<{ inserted: number; rows: EventRow[] }> {
  const written = await writeEvents(uow, rows);
  await writeProfiles(uow, written.profileRows);
  return { inserted: written.inserted, rows };
}

/** The rejected_events row of an event the database refused, with the database's reason. */
function refusedEventRow(row: EventRow, reason: string): RejectedRow {
  const size = jsonSize(row.payload);
  return {
    id: rejectionId('refused', [row.sourceId, row.messageId]),
    workspaceId: row.workspaceId,
    sourceId: row.sourceId,
    reason: `database refused the event: ${reason}`,
    messageId: row.messageId,
    event: size <= MAX_KEPT_EVENT_BYTES ? row.payload : null,
    eventSize: size,
    receivedAt: row.receivedAt,
  };
}

/**
 * Stores one job of events (the `events`, `replay`, `extract` and `internal-batch` queues): events
 * (idempotent on source and messageId), the profiles they change, and the rejected events the
 * gateway set aside. Retriable failures are thrown for the queue to retry; an item that does not
 * match the job schema, or a row the database refuses, goes to rejected_events with its reason,
 * and the rest of the job is stored.
 */
export async function storeEventsJob(data: unknown, job: JobRef, deps: StoreEventsDeps): Promise<EventsOutcome> {
  return storeEventsJobs([{ data, job }], deps);
}

/**
 * Stores several jobs of events in one transaction (group commit: one COPY and one commit for
 * many jobs). Malformed items are set aside first. If the database refuses a row, the group is
 * written again in a second transaction, bisected in savepoints: every event that can be stored
 * is, and each refused one goes to rejected_events, so one bad event fails no other job.
 */
export async function storeEventsJobs(jobs: Array<{ data: unknown; job: JobRef }>, deps: StoreEventsDeps): Promise<EventsOutcome> {
  const rows: EventRow[] = [];
  const rejectedRows: RejectedRow[] = [];
  for (const { data, job } of jobs) {
    const split = splitJob<QueuedEvent>(data, job, 'events', itemCheck, deps.logger);
    for (const event of split.items) rows.push(toEventRow(event));
    rejectedRows.push(...split.rejected);
  }
  if (rows.length === 0 && rejectedRows.length === 0) return { stored: 0, duplicates: 0, rejected: 0 };

  const outcome = await writeIsolating({
    store: deps.store,
    logger: deps.logger,
    jobs: jobs.map(({ job }) => job),
    rows,
    rejected: rejectedRows,
    write: writeEventsWithProfiles,
    refusedRows: (refusals) => refusals.map(({ item, reason }) => refusedEventRow(item, reason)),
  });
  const stored = outcome.written.reduce((sum, part) => sum + part.inserted, 0);
  if (deps.onStored && stored > 0) {
    // Committed already: a failing listener must not fail (and so retry) the jobs.
    try {
      deps.onStored(() => outcome.written.flatMap((part) => newRows(part.rows, part.inserted)));
    } catch (error) {
      deps.logger.warn({ err: (error as Error).message }, 'onStored failed');
    }
  }
  return { stored, duplicates: rows.length - stored - outcome.refused, rejected: outcome.rejected };
}
