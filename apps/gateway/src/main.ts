import cluster from 'node:cluster';
import http from 'node:http';
import { loadConfig, type Config } from '@evt/config';
import { createDbClient, SourcesRepository } from '@evt/db';
import { createLogger, type Logger } from '@evt/logging';
import { createRedis, EventsProducer, RateLimiter, readRedisDurability, type Redis } from '@evt/queue';
import { version } from '../../../package.json';
import { createApp } from './app';
import { IngestService } from './services/ingest.service';
import { SourceRegistry } from './services/source-registry';

/** GATEWAY_PROCESSES > 1: a primary that only forks and restarts workers sharing one port. */
function runPrimary(config: Config, logger: Logger): void {
  let stopping = false;
  for (let i = 0; i < config.gatewayProcesses; i++) cluster.fork();
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return;
    logger.error({ pid: worker.process.pid, code, signal }, 'gateway process died; starting another');
    cluster.fork();
  });
  const stop = (signal: NodeJS.Signals) => {
    stopping = true;
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill(signal);
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGTERM'));
}

/** Says at start when Redis could lose acknowledged events (AOF off, an evicting memory policy). */
async function warnAboutDurability(redis: Redis, logger: Logger): Promise<void> {
  try {
    const durability = await readRedisDurability(redis);
    for (const warning of durability.warnings) logger.warn(warning);
  } catch {
    logger.warn('could not read Redis durability settings (CONFIG GET refused?)');
  }
}

async function runServer(config: Config, logger: Logger): Promise<void> {
  const db = createDbClient(config.databaseUrl, { max: 2, applicationName: 'evt-gateway' });
  const sourcesRepository = new SourcesRepository(db.db);
  const sources = new SourceRegistry(() => sourcesRepository.loadConfigs(), config.sourceConfigRefreshMs, logger);
  await sources.start();

  const producer = new EventsProducer({
    redisUrl: config.redisUrl,
    prefix: config.queuePrefix,
    timeoutMs: config.enqueueTimeoutMs,
    maxEventsPerJob: config.enqueueMaxEvents,
    maxBytesPerJob: config.enqueueMaxBytes,
    maxPendingBytes: config.enqueueMaxPendingBytes,
  });
  const limiterRedis = createRedis(config.redisUrl, 'producer');
  limiterRedis.once('ready', () => void warnAboutDurability(limiterRedis, logger));


  let stopping = false;
  const ingest = new IngestService(producer, new RateLimiter(limiterRedis, config.queuePrefix), config.maxEventSize, logger);
  const app = createApp({
    config,
    logger,
    sources,
    ingest,
    version,
    checks: { redis: () => producer.ping(), postgres: () => db.ping() },
    isStopping: () => stopping,
  });

  const server = http.createServer(app);
  // Slow clients cannot hold sockets for ever: headers within 10 s, the whole request within 60 s.
  server.headersTimeout = 10_000;
  server.requestTimeout = 60_000;
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(config.port, config.host, resolve));
  const address = server.address();
  logger.info({ port: typeof address === 'object' && address ? address.port : config.port }, 'gateway listening');

  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping: answering requests in flight, then closing');
    const force = setTimeout(() => server.closeAllConnections(), config.shutdownTimeoutMs);
    force.unref();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
    });
    await producer.close();
    sources.stop();
    limiterRedis.disconnect();
    await db.close();
    logger.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger('gateway', config.logLevel);
  if (config.gatewayProcesses > 1 && cluster.isPrimary) return runPrimary(config, logger);
  await runServer(config, logger);
}

main().catch((error: Error) => {
  console.error(`gateway failed to start: ${error.message}`);
  process.exit(1);
});
