import { createDbClient, DestinationsRepository, dropDatabase, migrate, SourcesRepository, WorkspacesRepository, type DbClient } from '@evt/db';
import { AppProcess, freePort, waitForHealthy } from './processes';
import { startOwnPostgres, type OwnPostgres } from './postgres-server';
import { startOwnRedis, type OwnRedis } from './redis-server';

/**
 * A stack of the benchmark's and fault harness's own: a `redis-server` on a free port (AOF on),
 * a fresh database with one source (and one rETL destination of it), and the built apps started
 * against them as processes.
 */
export interface IsolatedStack {
  redis: OwnRedis;
  /** The cluster of the stack's own, when started with `ownPostgres` (it may be stopped). */
  postgres?: OwnPostgres;
  databaseUrl: string;
  db: DbClient;
  writeKey: string;
  sourceId: string;
  workspaceId: string;
  /** A destination of the source, for `/internal/v1/retl`. */
  destinationId: string;
  /** Environment for the apps: REDIS_URL, DATABASE_URL, QUEUE_PREFIX, LOG_LEVEL … */
  env: Record<string, string>;
  /** Starts the gateway on `port` (a free one by default) and waits until it is healthy. */
  startGateway(options?: { port?: number; env?: Record<string, string>; nodeArgs?: string[] }): Promise<{ app: AppProcess; url: string; port: number }>;
  startWorker(options?: { env?: Record<string, string>; nodeArgs?: string[] }): AppProcess;
  startInternalWorker(options?: { env?: Record<string, string>; nodeArgs?: string[] }): AppProcess;
  stop(): Promise<void>;
}

export async function startIsolatedStack(
  options: { baseDatabaseUrl?: string; appendfsync?: 'always' | 'everysec'; prefix?: string; ownPostgres?: boolean } = {},
): Promise<IsolatedStack> {
  const redis = await startOwnRedis({ appendonly: true, appendfsync: options.appendfsync ?? 'everysec' });
  const postgres = options.ownPostgres ? await startOwnPostgres() : undefined;
  const url = new URL(postgres?.url ?? options.baseDatabaseUrl ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
  url.pathname = `/evt_isolated_${Date.now()}_${Math.floor(Math.random() * 1e6)}`;
  const databaseUrl = url.toString();
  await migrate(databaseUrl);
  const db = createDbClient(databaseUrl, { max: 4, applicationName: 'evt-isolated' });
  const workspace = await new WorkspacesRepository(db.db).create('isolated');
  const source = await new SourcesRepository(db.db).create({ workspaceId: workspace.id, name: 'isolated' });
  const destination = await new DestinationsRepository(db.db).add(source.id, 'isolated');
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    REDIS_URL: redis.url,
    DATABASE_URL: databaseUrl,
    QUEUE_PREFIX: options.prefix ?? 'evt-isolated',
    LOG_LEVEL: 'warn',
    MIGRATE_ON_START: 'false',
  };
  return {
    redis,
    postgres,
    databaseUrl,
    db,
    writeKey: source.writeKey,
    sourceId: source.id,
    workspaceId: workspace.id,
    destinationId: destination.id,
    env,
    async startGateway(gatewayOptions = {}) {
      const port = gatewayOptions.port ?? (await freePort());
      const app = AppProcess.start(
        'gateway',
        'dist/apps/gateway/main.js',
        { ...env, PORT: String(port), HOST: '127.0.0.1', ...gatewayOptions.env },
        gatewayOptions.nodeArgs,
      );
      const gatewayUrl = `http://127.0.0.1:${port}`;
      await waitForHealthy(`${gatewayUrl}/health`, app, 20_000);
      return { app, url: gatewayUrl, port };
    },
    startWorker(workerOptions = {}) {
      return AppProcess.start('events-worker', 'dist/apps/events-worker/main.js', { ...env, ...workerOptions.env }, workerOptions.nodeArgs);
    },
    startInternalWorker(workerOptions = {}) {
      return AppProcess.start('internal-worker', 'dist/apps/internal-worker/main.js', { ...env, ...workerOptions.env }, workerOptions.nodeArgs);
    },
    async stop() {
      await db.close();
      if (postgres) postgres.dispose();
      else await dropDatabase(databaseUrl);
      await redis.dispose();
    },
  };
}
