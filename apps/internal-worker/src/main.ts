import { loadConfig } from '@evt/config';
import { createDbClient, EventStore, migrate, type DbClient } from '@evt/db';
import { bearerTokenCheck } from '@evt/ingest';
import { createLogger, stopOnSignals } from '@evt/logging';
import { createRegistry, serveMetrics, WorkerMetrics } from '@evt/metrics';
import { createConsumer, type Consumer } from '@evt/queue';
import { ORDERED_QUEUES, PROCESSORS } from './processors/registry';

// Set once a stop began: start-up steps it cuts short then fail, and that is no failure to start.
let stopping = false;

// The workers behind the internal API. WORKER_QUEUES picks the queues this process consumes
// (all five by default), so each can be deployed and scaled on its own.
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger('internal-worker', config.logLevel);
  // Listening for SIGTERM from the first moment: a stop during start-up closes what has started
  // (jobs already taken are finished) instead of the signal killing the process.
  const running: { consumers: Consumer[]; metricsServer?: { close(): Promise<void> }; db?: DbClient } = { consumers: [] };
  stopOnSignals(logger, 'finishing jobs in flight', async () => {
    stopping = true;
    await Promise.all(running.consumers.map((consumer) => consumer.close()));
    await running.metricsServer?.close();
    await running.db?.close();
  });
  logger.info('internal worker starting');
  const missing = config.workerQueues.filter((queue) => !PROCESSORS[queue]);
  if (missing.length > 0) throw new Error(`no processor for queue(s) ${missing.join(', ')}`);
  if (config.migrateOnStart) {
    const applied = await migrate(config.databaseUrl);
    if (applied.length > 0) logger.info({ applied }, 'migrations applied');
  }
  const db = (running.db = createDbClient(config.databaseUrl, { max: config.workerConcurrency * config.workerQueues.length + 1, applicationName: 'evt-internal-worker' }));
  const deps = { store: new EventStore(db), logger };
  const metrics = new WorkerMetrics(createRegistry('internal-worker'));
  const metricsServer = (running.metricsServer = config.metricsPort > 0 ? await serveMetrics({ port: config.metricsPort, host: config.host, registry: metrics.registry, authorized: bearerTokenCheck(config.metricsToken) }) : undefined);

  const consumers: Consumer[] = (running.consumers = config.workerQueues.map((queue) =>
    createConsumer({
      queueName: queue,
      redisUrl: config.redisUrl,
      prefix: config.queuePrefix,
      concurrency: ORDERED_QUEUES.has(queue) ? 1 : config.workerConcurrency,
      lockMs: config.workerLockMs,
      process: async (data, job) => {
        const started = performance.now();
        const outcome = await PROCESSORS[queue](data, job.id, deps);
        metrics.done(queue, (performance.now() - started) / 1000);
        metrics.wrote(queue, outcome);
        logger.debug({ queue, jobId: job.id, ...outcome }, 'job done');
      },
      maxDeterministicFailures: config.workerMaxAttempts,
      onFailedAttempt: (error, job) => {
        metrics.failed(queue);
        if (job.final) logger.warn({ queue, jobId: job.id, attempts: job.attemptsMade, reason: error.message }, 'job failed for good; see npm run cli -- queues failed');
        else logger.warn({ queue, jobId: job.id, attempt: job.attemptsMade, failures: job.deterministicFailures, err: error.message }, 'job failed; it will be retried');
      },
    }),
  ));
  await Promise.all(consumers.map((consumer) => consumer.ready()));
  logger.info({ queues: config.workerQueues, concurrency: config.workerConcurrency, metricsPort: metricsServer?.port }, 'internal worker started');
}

main().catch((error: Error) => {
  if (stopping) return;
  console.error(`internal worker failed to start: ${error.message}`);
  process.exit(1);
});
