import { storeEventsJob } from '@evt/pipeline';
import type { QueueKeyOf } from '@evt/schemas';
import type { Processor, Processors, WorkerContext } from '@evt/worker';
import { processAudienceListJob } from './audiencelist.processor';
import { processRetlJob } from './retl.processor';

/** The internal worker's queues whose jobs hold events (the payloads share one schema). */
type EventQueues = 'replay' | 'extract' | 'internalBatch';

/**
 * The internal worker's processors, bound to the job registry's keys (QUEUES, worker
 * 'internal-worker'): a queue of the registry without its processor here fails to compile.
 * Replayed, extracted and pre-enriched events are stored like the gateway's events.
 */
export function internalProcessors({ store, logger, tail }: WorkerContext): Processors<QueueKeyOf<'internal-worker'>> {
  const deps = { store, logger };
  // Their stored events go to `evt events tail` too (only while someone tails).
  const storeEvents =
    <K extends EventQueues>(): Processor<K> =>
    async (data, job) => ({ written: await storeEventsJob(data, job, { ...deps, onStored: tail }) });
  return {
    replay: storeEvents(),
    extract: storeEvents(),
    internalBatch: storeEvents(),
    retl: async (data, job) => ({ written: await processRetlJob(data, job.id, deps) }),
    audiencelist: async (data, job) => ({ written: await processAudienceListJob(data, job.id, deps) }),
  } satisfies Processors<QueueKeyOf<'internal-worker'>>;
}
