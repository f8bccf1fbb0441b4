import type { EventStore } from '@evt/db';
import type { Logger } from '@evt/logging';
import { storeEventsJob } from '@evt/pipeline';
import { QUEUE_NAMES } from '@evt/schemas';
import { processAudienceListJob } from './audiencelist.processor';
import { processRetlJob } from './retl.processor';

export interface ProcessorDeps {
  store: EventStore;
  logger: Logger;
}

/** Does one job's work; its result is logged. Throws a retriable error to have the job retried. */
export type Processor = (data: unknown, jobId: string, deps: ProcessorDeps) => Promise<object>;

/**
 * Queues whose jobs are applied one at a time, in queue order: rETL updates merge into records
 * and audience writes flip membership, so a later job must not overtake an earlier one.
 */
export const ORDERED_QUEUES: ReadonlySet<string> = new Set([QUEUE_NAMES.retl, QUEUE_NAMES.audiencelist]);

/**
 * The internal worker's job registry: queue → processor. Replayed, extracted and pre-enriched
 * events are stored like the gateway's events (the payloads share one schema).
 */
export const PROCESSORS: Readonly<Record<string, Processor>> = {
  [QUEUE_NAMES.replay]: (data, id, deps) => storeEventsJob(data, { queue: QUEUE_NAMES.replay, id }, deps),
  [QUEUE_NAMES.extract]: (data, id, deps) => storeEventsJob(data, { queue: QUEUE_NAMES.extract, id }, deps),
  [QUEUE_NAMES.internalBatch]: (data, id, deps) => storeEventsJob(data, { queue: QUEUE_NAMES.internalBatch, id }, deps),
  [QUEUE_NAMES.retl]: processRetlJob,
  [QUEUE_NAMES.audiencelist]: processAudienceListJob,
};
