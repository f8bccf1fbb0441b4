import { runWorker, type Processors } from '@evt/worker';
import { QUEUE_NAMES } from '@evt/schemas';
import { startPartitionMaintenance } from './partition-maintenance';
import { createEventsProcessor } from './processors/events.processor';

// The `events` queue's worker: the registry gives it that one queue (QUEUES, worker 'events-worker').
void runWorker({
  app: 'events-worker',
  title: 'events worker',
  // Jobs are stored in group commits: a few connections serve any concurrency.
  dbConnections: () => 4,
  processors: ({ config, logger, store, metrics, tail }) => {
    // Built once migrations have run: the partitions of events go with the processor that fills them.
    startPartitionMaintenance(config, logger);
    return {
      events: createEventsProcessor(
        { store, logger, onStored: tail },
        { maxJobsPerCommit: config.workerConcurrency, onCommitted: (outcome) => metrics.wrote(QUEUE_NAMES.events, outcome) },
      ),
    } satisfies Processors<'events'>;
  },
});
