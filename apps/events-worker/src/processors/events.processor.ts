import { storeEventsJob, type EventsOutcome, type StoreEventsDeps } from '@evt/pipeline';
import { QUEUE_NAMES } from '@evt/schemas';

/** A job of the `events` queue: the events of many gateway requests, stored in one transaction. */
export function processEventsJob(data: unknown, jobId: string, deps: StoreEventsDeps): Promise<EventsOutcome> {
  return storeEventsJob(data, { queue: QUEUE_NAMES.events, id: jobId }, deps);
}
