import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { isClusterAddress, type Config } from '@evt/config';
import { createDbClient, SourcesRepository } from '@evt/db';
import { withTimeout } from '@evt/errors';
import type { Logger } from '@evt/logging';
import { bearerTokenCheck } from '@evt/ingest';
import { createRegistry, GatewayMetrics, metricsHandler, metricsSource } from '@evt/metrics';
import { createQueueDashboard, QueueBacklog, QueueProducers, RateLimiter, readQueueDepthsOn, readRedisDurability, type Redis } from '@evt/queue';
import { QUEUE_KEYS, type QueueKey } from '@evt/schemas';
import type { GatewayDeps } from './deps';
import { BodyBudget } from './http/body-budget';
import { createRequestListener } from './listener';
import { ADMIN_QUEUES_PATH } from './routes/admin.route';
import { clientIpResolver } from './request/context';
import { IngestService, type Producers } from './services/ingest.service';
import { InternalIngestService } from './services/internal-ingest.service';
import { SourceRegistry } from './services/source-registry';

export interface RunningGateway {
  server: http.Server;
  port: number;
  sources: SourceRegistry;
  /** The bound on request bodies held in memory: tests check that it always returns to 0. */
  bodyBudget: BodyBudget;
  /** Answers 503 to new requests, finishes those in flight, then closes every connection. */
  stop(): Promise<void>;
}

/** Producers that accept and drop everything: the parse + validate ceiling of the benchmarks. */
function discardingProducers(): Producers {
  const discard = { enqueue: () => Promise.resolve() };
  return Object.fromEntries(QUEUE_KEYS.map((key) => [key, discard])) as Record<QueueKey, typeof discard>;
}

/** Says at start when Redis could lose acknowledged events (AOF off, an evicting memory policy, no maxmemory). */
async function warnAboutDurability(redis: Redis, logger: Logger): Promise<void> {
  try {
    const durability = await readRedisDurability(redis);
    for (const warning of durability.warnings) logger.warn(warning);
  } catch {
    logger.warn('could not read Redis durability settings (CONFIG GET refused?)');
  }
}

/** The warning the gateway logs at start when /internal/* takes any caller who knows a source id, else undefined. */
export function internalApiWarning(config: Config): string | undefined {
  if (!config.internalApiEnabled || config.internalApiToken !== undefined) return undefined;
  return 'INTERNAL_API_TOKEN is not set: anyone who knows a source id can write pre-enriched events through /internal/*. Set INTERNAL_API_TOKEN, or INTERNAL_API_ENABLED=false if nothing calls the internal API';
}

// A dependency that does not answer within this is reported down (a health check must not hang).
const CHECK_TIMEOUT_MS = 2000;

/** Wires the gateway to Redis and Postgres and starts listening on `config.port` (0 picks a free port). */
export async function startGateway(config: Config, logger: Logger, version: string): Promise<RunningGateway> {
  const db = createDbClient(config.databaseUrl, { max: 2, applicationName: 'evt-gateway' });
  const sourcesRepository = new SourcesRepository(db.db);
  const sources = new SourceRegistry(() => sourcesRepository.loadConfigs(), config.sourceConfigRefreshMs, logger);
  await sources.start();

  const producers = new QueueProducers({
    redisUrl: config.redisUrl,
    prefix: config.queuePrefix,
    eventsShards: config.eventsQueueShards,
    timeoutMs: config.enqueueTimeoutMs,
    maxItemsPerJob: config.enqueueMaxEvents,
    maxBytesPerJob: config.enqueueMaxBytes,
    maxPendingBytes: config.enqueueMaxPendingBytes,
    ackReplicas: config.redisAckReplicas,
  });
  producers.connection.once('ready', () => void warnAboutDurability(producers.connection, logger));

  let stopping = false;
  const internalWarning = internalApiWarning(config);
  if (internalWarning) logger.warn(internalWarning);
  if (isClusterAddress(config.redisUrl) && /\{[^}]+\}/.test(config.queuePrefix)) {
    logger.warn(
      'QUEUE_PREFIX has a hash tag: under Redis Cluster every queue then shares its slot, and one primary carries them all (EVENTS_QUEUE_SHARDS cannot spread them)',
    );
  }
  if (config.enqueueDisabled) logger.warn('ENQUEUE_DISABLED is set: events are answered OK and thrown away (benchmarks only)');
  const checks = { redis: () => producers.ping(CHECK_TIMEOUT_MS), postgres: () => withTimeout(db.ping(), CHECK_TIMEOUT_MS, 'postgres too slow') };
  const answers = (check: () => Promise<void>) =>
    check().then(
      () => true,
      () => false,
    );
  const registry = createRegistry('gateway');
  const metrics = new GatewayMetrics(
    registry,
    () => withTimeout(readQueueDepthsOn(producers.connection, config.queuePrefix, config.eventsQueueShards), 2000, 'queue depths too slow'),
    async () => {
      const [redis, postgres] = await Promise.all([answers(checks.redis), answers(checks.postgres)]);
      return { redis, postgres };
    },
  );
  // The events waiting in Redis, counted by every gateway and worker; nothing is queued with ENQUEUE_DISABLED.
  const backlog = config.enqueueDisabled
    ? undefined
    : new QueueBacklog({ redisUrl: config.redisUrl, prefix: config.queuePrefix, eventsShards: config.eventsQueueShards, limit: config.maxQueueBacklogEvents });
  if (backlog) metrics.watchBacklog(backlog);
  const ingest = new IngestService(
    config.enqueueDisabled ? discardingProducers() : producers,
    new RateLimiter(producers.connection, config.queuePrefix),
    config.maxEventSize,
    logger,
    metrics,
    backlog,
  );
  const bodyBudget = new BodyBudget(config.maxInflightBodyBytes);
  // Off unless ADMIN_TOKEN is set: then its queues and Redis connection are its own.
  const dashboard =
    config.adminToken === undefined
      ? undefined
      : createQueueDashboard({ redisUrl: config.redisUrl, prefix: config.queuePrefix, eventsShards: config.eventsQueueShards, basePath: ADMIN_QUEUES_PATH });
  const deps: GatewayDeps = {
    config,
    logger,
    sources,
    ingest,
    internal: new InternalIngestService(ingest, producers),
    version,
    checks,
    isStopping: () => stopping,
    clientIp: clientIpResolver(config.trustProxy),
    bodyBudget,
    metrics,
    serveMetrics: metricsHandler(metricsSource(registry), bearerTokenCheck(config.metricsToken)),
    queueDashboard: dashboard?.handler,
  };
  // Slow clients cannot hold sockets for ever: headers within HEADERS_TIMEOUT_MS, the whole
  // request within REQUEST_TIMEOUT_MS (Node answers 408 and closes), checked often enough to matter.
  const server = http.createServer(
    {
      headersTimeout: config.headersTimeoutMs,
      requestTimeout: Math.max(config.requestTimeoutMs, config.headersTimeoutMs),
      keepAliveTimeout: 65_000,
      connectionsCheckingInterval: Math.min(1000, Math.ceil(config.headersTimeoutMs / 4)),
    },
    createRequestListener(deps),
  );
  await new Promise<void>((resolve) => server.listen(config.port, config.host, resolve));
  const port = (server.address() as AddressInfo).port;

  return {
    server,
    port,
    sources,
    bodyBudget,
    async stop() {
      if (stopping) return;
      stopping = true;
      const force = setTimeout(() => server.closeAllConnections(), config.shutdownTimeoutMs);
      force.unref();
      // Keep-alive sockets become idle as their last answer is sent: close each as soon as it is.
      const sweep = setInterval(() => server.closeIdleConnections(), 50);
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      clearInterval(sweep);
      clearTimeout(force);
      await producers.close();
      await dashboard?.close();
      // After the producers drained: the events of their last jobs are counted too.
      await backlog?.close();
      sources.stop();
      await db.close();
    },
  };
}
