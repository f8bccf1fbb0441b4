import { GroupCommit, storeEventsJobs, type EventsOutcome, type JobRef, type StoreEventsDeps } from '@evt/pipeline';
import type { Processor } from '@evt/worker';

/**
 * Jobs of the `events` queue. The jobs the worker runs at once are stored together, in one
 * transaction (one COPY, one commit): commits, not rows, are what limits Postgres here. Each
 * group's writes are counted once, by `onCommitted`; each job reports its group's.
 */
export function createEventsProcessor(
  deps: StoreEventsDeps,
  options: { maxJobsPerCommit: number; lingerMs?: number; onCommitted?: (outcome: EventsOutcome) => void },
): Processor<'events'> {
  const commit = async (jobs: Array<{ data: unknown; job: JobRef }>) => {
    const outcome = await storeEventsJobs(jobs, deps);
    options.onCommitted?.(outcome);
    return outcome;
  };
  // Each job of a group resolves with the group's outcome.
  const group = new GroupCommit<{ data: unknown; job: JobRef }, EventsOutcome>(commit, options.maxJobsPerCommit, options.lingerMs ?? 5);
  return async (data, job) => ({ group: await group.add({ data, job }) });
}
