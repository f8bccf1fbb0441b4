import { PermanentError } from '@evt/errors';
import { translateDbError, type EventRow, type EventStore, type EventStoreSession, type RejectedRow } from '@evt/db';
import type { Logger } from '@evt/logging';
import { EventsJob, Validator, type RejectedEvent } from '@evt/schemas';
import { profileChanges, toEventRow } from './event-rows';
import { setAsideMalformedJob, type JobRef } from './malformed-job';

const jobValidator = new Validator(EventsJob);

export interface StoreEventsDeps {
  store: EventStore;
  logger: Logger;
}

export interface EventsOutcome {
  stored: number;
  duplicates: number;
  rejected: number;
}

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

/** Inserts the rows; how many were new, and the new ones that change profiles. */
async function writeEvents(session: EventStoreSession, rows: EventRow[]): Promise<{ inserted: number; profileRows: EventRow[] }> {
  const result = await session.insertEvents(rows);
  const keys = new Set(result.profileKeys.map((key) => `${key.sourceId}\u0000${key.messageId}`));
  return { inserted: result.inserted, profileRows: rows.filter((row) => keys.delete(`${row.sourceId}\u0000${row.messageId}`)) };
}

/** Profiles follow only the events stored now, so a job run twice changes them once. */
async function writeProfiles(session: EventStoreSession, stored: EventRow[]): Promise<void> {
  const changes = profileChanges(stored);
  await session.upsertUsers(changes.users);
  await session.upsertGroups(changes.groups);
  await session.insertAliases(changes.aliases);
}

/**
 * Stores one job of events (the `events`, `replay`, `extract` and `internal-batch` queues) in a single transaction: events (idempotent on source and
 * messageId), the profiles they change, and the rejected events the gateway set aside.
 * Retriable failures are thrown for the queue to retry; a row the database refuses is moved to
 * rejected_events with the database's reason, and the rest of the job is stored.
 */
export async function storeEventsJob(data: unknown, job: JobRef, deps: StoreEventsDeps): Promise<EventsOutcome> {
  return storeEventsJobs([{ data, job }], deps);
}

/**
 * Stores several jobs of events in one transaction (group commit: one COPY and one commit for
 * many jobs). Malformed jobs are set aside first; if the database refuses a row, the jobs are
 * stored again event by event, the refused rows going to rejected_events.
 */
export async function storeEventsJobs(jobs: Array<{ data: unknown; job: JobRef }>, deps: StoreEventsDeps): Promise<EventsOutcome> {
  const outcome: EventsOutcome = { stored: 0, duplicates: 0, rejected: 0 };
  const rows: EventRow[] = [];
  const rejectedRows: RejectedRow[] = [];
  for (const { data, job } of jobs) {
    const reason = jobValidator.reason(data);
    if (reason !== undefined) {
      await setAsideMalformedJob(deps.store, job, data, reason, deps.logger);
      outcome.rejected++;
      continue;
    }
    const payload = data as EventsJob;
    for (const event of payload.events) rows.push(toEventRow(event));
    for (const rejected of payload.rejected) rejectedRows.push(toRejectedRow(rejected));
  }
  if (rows.length === 0 && rejectedRows.length === 0) return outcome;

  let written: EventsOutcome;
  try {
    written = await deps.store.transaction(async (session) => {
      const stored = await writeEvents(session, rows);
      await writeProfiles(session, stored.profileRows);
      await session.insertRejected(rejectedRows);
      return { stored: stored.inserted, duplicates: rows.length - stored.inserted, rejected: rejectedRows.length };
    });
  } catch (error) {
    if (!(error instanceof PermanentError)) throw error;
    deps.logger.warn({ jobs: jobs.map(({ job }) => `${job.queue}:${job.id}`), err: error.message }, 'bulk write refused; storing event by event');
    written = await deps.store.transaction((session) => writeOneByOne(session, rows, rejectedRows));
  }
  return { stored: written.stored, duplicates: written.duplicates, rejected: written.rejected + outcome.rejected };
}

/** The slow path for a job holding a row the database refuses: each event in its own savepoint. */
async function writeOneByOne(session: EventStoreSession, rows: EventRow[], rejectedRows: RejectedRow[]): Promise<EventsOutcome> {
  const profileRows: EventRow[] = [];
  let inserted = 0;
  const refused: RejectedRow[] = [...rejectedRows];
  for (const row of rows) {
    try {
      const stored = await session.savepoint((inner) => writeEvents(inner, [row]));
      inserted += stored.inserted;
      profileRows.push(...stored.profileRows);
    } catch (error) {
      const translated = translateDbError(error);
      if (!(translated instanceof PermanentError)) throw translated;
      const message = translated.message.replace(/^database rejected the data: /, '');
      refused.push({
        id: `refused:${row.sourceId}:${row.messageId}`,
        workspaceId: row.workspaceId,
        sourceId: row.sourceId,
        reason: `database refused the event: ${message}`,
        messageId: row.messageId,
        event: null,
        eventSize: Buffer.byteLength(JSON.stringify(row.payload)),
        receivedAt: row.receivedAt,
      });
    }
  }
  await writeProfiles(session, profileRows);
  await session.insertRejected(refused);
  return { stored: inserted, duplicates: rows.length - inserted - (refused.length - rejectedRows.length), rejected: refused.length };
}
