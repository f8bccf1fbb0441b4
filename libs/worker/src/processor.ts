import type { Config } from '@evt/config';
import type { EventRow, EventStore } from '@evt/db';
import type { Logger } from '@evt/logging';
import type { ItemsWritten, WorkerMetrics } from '@evt/metrics';
import type { NameOf, QueueKey } from '@evt/schemas';

/**
 * The job a processor is given: its queue's name, or its shard's (`events-2`: job ids are counted
 * per BullMQ queue, and the two name the job's rejected-event records together), and its id.
 */
export interface QueueJob<K extends QueueKey> {
  readonly queue: NameOf<K> | `${NameOf<K>}-${number}`;
  readonly id: string;
}

/**
 * What a processor did with a job, in the shape the metrics read. `written` is counted in
 * evt_worker_items_total under the job's queue. A processor that writes jobs in groups (one
 * commit for many jobs) counts each group once itself, and reports it as `group`: only logged.
 */
export interface JobResult {
  readonly written?: ItemsWritten;
  readonly group?: ItemsWritten;
}

/**
 * Does one job's work; throws a retriable error to have the job tried again. `data` is the
 * payload as Redis holds it, meant to be the queue's PayloadOf: the processor checks it item by
 * item, so that a malformed item goes to rejected_events and the rest of the job is stored.
 */
export type Processor<K extends QueueKey> = (data: unknown, job: QueueJob<K>) => Promise<JobResult>;

/**
 * A worker's processors, one per queue it consumes, under the job registry's keys. Declared with
 * `satisfies Processors<QueueKeyOf<'internal-worker'>>`: a queue without a processor, or a
 * processor of the wrong shape, fails to compile.
 */
export type Processors<K extends QueueKey> = { readonly [Q in K]: Processor<Q> };

/** What a worker's processors are built from, once runWorker has connected. */
export interface WorkerContext {
  readonly config: Config;
  readonly logger: Logger;
  readonly store: EventStore;
  /** For processors that count their writes themselves (see JobResult). */
  readonly metrics: WorkerMetrics;
  /** A processor of events's `onStored`: the stored events go to `evt events tail` while anyone listens. */
  readonly tail: (stored: () => EventRow[]) => void;
}
