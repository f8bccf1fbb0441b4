import type { EventStore } from '@evt/db';
import type { Logger } from '@evt/logging';

/** Which job is being stored: its queue and id name the rejected-event record of a malformed job. */
export interface JobRef {
  queue: string;
  id: string;
}

// A malformed job's payload is kept in rejected_events only up to this size.
const MAX_KEPT_JOB_BYTES = 1024 * 1024;

/**
 * Keeps a job whose payload does not match its schema in rejected_events, with the reason, so
 * the queue moves on and an admin can see what came. Storing it twice keeps one row.
 */
export async function setAsideMalformedJob(store: EventStore, job: JobRef, data: unknown, reason: string, logger: Logger): Promise<void> {
  const size = Buffer.byteLength(JSON.stringify(data) ?? '');
  await store.transaction((session) =>
    session.insertRejected([
      {
        id: `job:${job.queue}:${job.id}`,
        workspaceId: null,
        sourceId: null,
        reason: `malformed ${job.queue} job: ${reason}`,
        messageId: null,
        event: size <= MAX_KEPT_JOB_BYTES ? data : null,
        eventSize: size,
        receivedAt: new Date().toISOString(),
      },
    ]),
  );
  logger.error({ queue: job.queue, jobId: job.id, reason }, 'malformed job set aside in rejected_events');
}
