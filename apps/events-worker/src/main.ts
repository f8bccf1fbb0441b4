import { loadConfig } from '@evt/config';
import { createDbClient, EventStore, migrate, type DbClient } from '@evt/db';
import { bearerTokenCheck } from '@evt/ingest';
import { createLogger, stopOnSignals } from '@evt/logging';
import { createRegistry, serveMetrics, WorkerMetrics } from '@evt/metrics';
import { createConsumer, type Consumer } from '@evt/queue';
import { QUEUE_NAMES } from '@evt/schemas';
import { createEventsProcessor } from './processors/events.processor';

// Set once a stop began: start-up steps it cuts short then fail, and that is no failure to start.
let stopping = false;

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger('events-worker', config.logLevel);
  // Listening for SIGTERM from the first moment: a stop during start-up closes what has started
  // (jobs already taken are finished) instead of the signal killing the process.
  const running: { consumer?: Consumer; metricsServer?: { close(): Promise<void> }; db?: DbClient } = {};
  stopOnSignals(logger, 'finishing jobs in flight', async () => {
    stopping = true;
    await running.consumer?.close();
    await running.metricsServer?.close();
    await running.db?.close();
  });
  logger.info('events worker starting');
  if (config.migrateOnStart) {
    const applied = await migrate(config.databaseUrl);
    if (applied.length > 0) logger.info({ applied }, 'migrations applied');
  }
  const db = (running.db = createDbClient(config.databaseUrl, { max: 4, applicationName: 'evt-events-worker' }));
  const store = new EventStore(db);
  const metrics = new WorkerMetrics(createRegistry('events-worker'));
  const processEvents = createEventsProcessor(
    { store, logger },
    { maxJobsPerCommit: config.workerConcurrency, onCommitted: (outcome) => metrics.wrote(QUEUE_NAMES.events, outcome) },
  );
  const metricsServer = (running.metricsServer = config.metricsPort > 0 ? await serveMetrics({ port: config.metricsPort, host: config.host, registry: metrics.registry, authorized: bearerTokenCheck(config.metricsToken) }) : undefined);

  const consumer = (running.consumer = createConsumer({
    queueName: QUEUE_NAMES.events,
    redisUrl: config.redisUrl,
    prefix: config.queuePrefix,
    concurrency: config.workerConcurrency,
    lockMs: config.workerLockMs,
    process: async (data, job) => {
      const started = performance.now();
      const outcome = await processEvents(data, job.id);
      metrics.done(QUEUE_NAMES.events, (performance.now() - started) / 1000);
      logger.debug({ jobId: job.id, group: outcome }, 'events job stored');
    },
    maxDeterministicFailures: config.workerMaxAttempts,
    onFailedAttempt: (error, job) => {
      metrics.failed(QUEUE_NAMES.events);
      if (job.final) logger.warn({ queue: QUEUE_NAMES.events, jobId: job.id, attempts: job.attemptsMade, reason: error.message }, 'job failed for good; see npm run cli -- queues failed');
      else logger.warn({ jobId: job.id, attempt: job.attemptsMade, failures: job.deterministicFailures, err: error.message }, 'events job failed; it will be retried');
    },
  }));
  await consumer.ready();
  logger.info({ queue: QUEUE_NAMES.events, concurrency: config.workerConcurrency, metricsPort: metricsServer?.port }, 'events worker started');
}

main().catch((error: Error) => {
  if (stopping) return;
  console.error(`events worker failed to start: ${error.message}`);
  process.exit(1);
});
