import { GroupCommit, storeEventsJobs, type EventsOutcome, type JobRef, type StoreEventsDeps } from '@evt/pipeline';
import { QUEUE_NAMES } from '@evt/schemas';

/**
 * Jobs of the `events` queue. The jobs the worker runs at once are stored together, in one
 * transaction (one COPY, one commit): commits, not rows, are what limits Postgres here.
 */
export function createEventsProcessor(deps: StoreEventsDeps, options: { maxJobsPerCommit: number; lingerMs?: number; onCommitted?: (outcome: EventsOutcome) => void }) {
  const commit = async (jobs: Array<{ data: unknown; job: JobRef }>) => {
    const outcome = await storeEventsJobs(jobs, deps);
    options.onCommitted?.(outcome);
    return outcome;
  };
  // Each job of a group resolves with the group's outcome.
  const group = new GroupCommit<{ data: unknown; job: JobRef }, EventsOutcome>(commit, options.maxJobsPerCommit, options.lingerMs ?? 5);
  return (data: unknown, jobId: string): Promise<EventsOutcome> => group.add({ data, job: { queue: QUEUE_NAMES.events, id: jobId } });
}
