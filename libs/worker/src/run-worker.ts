import { loadConfig, type Config } from '@evt/config';
import { createDbClient, EventStore, migrate, type DbClient } from '@evt/db';
import { bearerTokenCheck } from '@evt/ingest';
import { createLogger, stopOnSignals, type Logger } from '@evt/logging';
import { createRegistry, serveMetrics, WorkerMetrics } from '@evt/metrics';
import { createConsumer, EventTailPublisher, isEventQueue, QueueBacklogDrain, queueLayout, queueShards, type Consumer, type QueueShard } from '@evt/queue';
import { QUEUES, queueKeysOf, type QueueKeyOf, type WorkerApp } from '@evt/schemas';
import { tailStored } from './event-tail';
import type { Processor, Processors, QueueJob, WorkerContext } from './processor';

export interface WorkerOptions<W extends WorkerApp> {
  /** The app: the job registry's `worker` of the queues it may consume, and the `service` of its metrics. */
  app: W;
  /** How its log lines name it: "<title> starting", "<title> started", "<title> failed to start". */
  title: string;
  /** The names of the queues this process consumes; every queue of the app when left out. */
  queues?: (config: Config) => readonly string[];
  /** The size of its Postgres pool. */
  dbConnections: (config: Config, queues: number) => number;
  /** Its processors, built once Postgres and the metrics are there. */
  processors: (context: WorkerContext) => Processors<QueueKeyOf<W>>;
}

/** The registry keys of the queue names, in the order given; a name that is not one of the app's is an error. */
function consumedQueues<W extends WorkerApp>(app: W, names: readonly string[] | undefined): Array<QueueKeyOf<W>> {
  const keys = queueKeysOf(app);
  if (names === undefined) return keys;
  return names.map((name) => {
    const key = keys.find((candidate) => QUEUES[candidate].name === name);
    if (key === undefined) throw new Error(`no processor for queue ${name}`);
    return key;
  });
}

/** The items of a decoded job payload (its registry `itemsKey` array): what it adds to the backlog of events. */
function itemCount(data: unknown, itemsKey: string): number {
  const items = typeof data === 'object' && data !== null ? (data as Record<string, unknown>)[itemsKey] : undefined;
  return Array.isArray(items) ? items.length : 0;
}

/**
 * The BullMQ queues of the registry queue `key` this process consumes: every shard of a sharded
 * queue but those EVENTS_WORKER_SHARDS leaves out.
 */
function consumedShards(key: QueueKeyOf<WorkerApp>, config: Config): QueueShard[] {
  const shards = queueShards(queueLayout(config.redisUrl, config.queuePrefix, config.eventsQueueShards), key);
  return QUEUES[key].sharded ? shards.filter((shard) => config.eventsWorkerShards.includes(shard.shard)) : shards;
}

/**
 * One queue's (or shard's) consumer: its concurrency from the registry (ordered queues take one job at a time), its metrics and log lines,
 * under the shard's label (`events-2`). A job of a queue of events leaves the shared backlog (`backlog`) once stored.
 */
function consume<K extends QueueKeyOf<WorkerApp>>(
  key: K,
  shard: QueueShard,
  process: Processor<K>,
  config: Config,
  logger: Logger,
  metrics: WorkerMetrics,
  backlog: QueueBacklogDrain | undefined,
): Consumer {
  // A shard's label is its queue's name, or the name and the shard's number (queueShards).
  const queue = shard.label as QueueJob<K>['queue'];
  const counted = backlog !== undefined && isEventQueue(key) ? backlog : undefined;
  return createConsumer({
    queueName: shard.name,
    redisUrl: config.redisUrl,
    prefix: config.queuePrefix,
    concurrency: QUEUES[key].ordered ? 1 : config.workerConcurrency,
    lockMs: config.workerLockMs,
    process: async (data, job) => {
      const started = performance.now();
      const result = await process(data, { queue, id: job.id });
      counted?.stored(itemCount(data, QUEUES[key].itemsKey), queue);
      metrics.done(queue, (performance.now() - started) / 1000);
      if (result.written) metrics.wrote(queue, result.written);
      logger.debug({ queue, jobId: job.id, ...result.written, group: result.group }, 'job done');
    },
    maxDeterministicFailures: config.workerMaxAttempts,
    onFailedAttempt: (error, job) => {
      metrics.failed(queue);
      if (job.final) logger.warn({ queue, jobId: job.id, attempts: job.attemptsMade, reason: error.message }, 'job failed for good; see evt queues failed');
      else
        logger.warn(
          { queue, jobId: job.id, attempt: job.attemptsMade, failures: job.deterministicFailures, err: error.message },
          'job failed; it will be retried',
        );
    },
  });
}

/**
 * A worker process: settings, migrations (MIGRATE_ON_START), Postgres, the metrics server, one
 * consumer per queue it consumes, and a graceful stop on SIGTERM/SIGINT (jobs in flight finish).
 * Both worker apps are this, with their own processors.
 */
export async function runWorker<W extends WorkerApp>(options: WorkerOptions<W>): Promise<void> {
  // Set once a stop began: start-up steps it cuts short then fail, and that is no failure to start.
  let stopping = false;
  const running: {
    consumers: Consumer[];
    backlog?: QueueBacklogDrain;
    tail?: EventTailPublisher;
    metricsServer?: { close(): Promise<void> };
    db?: DbClient;
  } = { consumers: [] };
  try {
    const config = loadConfig();
    const logger = createLogger(options.app, config.logLevel);
    // Listening for SIGTERM from the first moment: a stop during start-up closes what has started
    // instead of the signal killing the process.
    stopOnSignals(logger, 'finishing jobs in flight', async () => {
      stopping = true;
      await Promise.all(running.consumers.map((consumer) => consumer.close()));
      // The jobs in flight are stored now: their events leave the backlog before the process does.
      await running.backlog?.close();
      await running.tail?.close();
      await running.metricsServer?.close();
      await running.db?.close();
    });
    logger.info(`${options.title} starting`);
    const keys = consumedQueues(options.app, options.queues?.(config));
    if (config.migrateOnStart) {
      const applied = await migrate(config.databaseUrl);
      if (applied.length > 0) logger.info({ applied }, 'migrations applied');
    }
    const db = (running.db = createDbClient(config.databaseUrl, { max: options.dbConnections(config, keys.length), applicationName: `evt-${options.app}` }));
    const metrics = new WorkerMetrics(createRegistry(options.app));
    // Connects at once, but sends nothing while nobody tails (one PUBSUB NUMSUB a second while events are stored).
    const tail = (running.tail = new EventTailPublisher({ redisUrl: config.redisUrl, prefix: config.queuePrefix }));
    const processors: Processors<QueueKeyOf<W>> = options.processors({ config, logger, store: new EventStore(db), metrics, tail: tailStored(tail) });
    const metricsServer = (running.metricsServer =
      config.metricsPort > 0
        ? await serveMetrics({ port: config.metricsPort, host: config.host, registry: metrics.registry, authorized: bearerTokenCheck(config.metricsToken) })
        : undefined);
    // Workers of queues of events take stored events off the shared backlog and heal its drift.
    const backlog = (running.backlog = keys.some((key) => isEventQueue(key))
      ? new QueueBacklogDrain({ redisUrl: config.redisUrl, prefix: config.queuePrefix, eventsShards: config.eventsQueueShards })
      : undefined);
    const shards = keys.flatMap((key) => consumedShards(key, config).map((shard) => ({ key, shard })));
    const consumers = (running.consumers = shards.map(({ key, shard }) =>
      consume(key, shard, processors[key] as Processor<typeof key>, config, logger, metrics, backlog),
    ));
    await Promise.all(consumers.map((consumer) => consumer.ready()));
    logger.info(
      { queues: shards.map(({ shard }) => shard.label), concurrency: config.workerConcurrency, metricsPort: metricsServer?.port },
      `${options.title} started`,
    );
  } catch (error) {
    if (stopping) return;
    console.error(`${options.title} failed to start: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
}
