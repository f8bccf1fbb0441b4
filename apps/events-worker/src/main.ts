import { runWorker, type Processors } from '@evt/worker';
import { QUEUE_NAMES } from '@evt/schemas';
import { createEventsProcessor } from './processors/events.processor';

// The `events` queue's worker: the registry gives it that one queue (QUEUES, worker 'events-worker').
void runWorker({
  app: 'events-worker',
  title: 'events worker',
  // Jobs are stored in group commits: a few connections serve any concurrency.
  dbConnections: () => 4,
  processors: ({ config, logger, store, metrics }) =>
    ({
      events: createEventsProcessor(
        { store, logger },
        { maxJobsPerCommit: config.workerConcurrency, onCommitted: (outcome) => metrics.wrote(QUEUE_NAMES.events, outcome) },
      ),
    }) satisfies Processors<'events'>,
});
