import { loadConfig } from '@evt/config';
import { createDbClient, EventStore, migrate } from '@evt/db';
import { createLogger, stopOnSignals } from '@evt/logging';
import { createConsumer } from '@evt/queue';
import { QUEUE_NAMES } from '@evt/schemas';
import { createEventsProcessor } from './processors/events.processor';

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger('events-worker', config.logLevel);
  if (config.migrateOnStart) {
    const applied = await migrate(config.databaseUrl);
    if (applied.length > 0) logger.info({ applied }, 'migrations applied');
  }
  const db = createDbClient(config.databaseUrl, { max: 4, applicationName: 'evt-events-worker' });
  const store = new EventStore(db);
  const processEvents = createEventsProcessor({ store, logger }, { maxJobsPerCommit: config.workerConcurrency });

  const consumer = createConsumer({
    queueName: QUEUE_NAMES.events,
    redisUrl: config.redisUrl,
    prefix: config.queuePrefix,
    concurrency: config.workerConcurrency,
    lockMs: config.workerLockMs,
    process: async (data, job) => {
      const outcome = await processEvents(data, job.id);
      logger.debug({ jobId: job.id, ...outcome }, 'events job stored');
    },
    onFailedAttempt: (error, job) => logger.warn({ jobId: job.id, attempt: job.attemptsMade, err: error.message }, 'events job failed; it will be retried'),
  });
  await consumer.ready();
  logger.info({ queue: QUEUE_NAMES.events, concurrency: config.workerConcurrency }, 'events worker started');

  stopOnSignals(logger, 'finishing jobs in flight', async () => {
    await consumer.close();
    await db.close();
  });
}

main().catch((error: Error) => {
  console.error(`events worker failed to start: ${error.message}`);
  process.exit(1);
});
