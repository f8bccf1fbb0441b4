import { runWorker } from '@evt/worker';
import { internalProcessors } from './processors/registry';

// The workers behind the internal API. WORKER_QUEUES picks the queues this process consumes
// (all of the registry's internal ones by default), so each can be deployed and scaled on its own.
void runWorker({
  app: 'internal-worker',
  title: 'internal worker',
  queues: (config) => config.workerQueues,
  dbConnections: (config, queues) => config.workerConcurrency * queues + 1,
  processors: internalProcessors,
});
