import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createDbClient, DestinationsRepository, dropDatabase, migrate, SourcesRepository, WorkspacesRepository, type DbClient } from '@evt/db';
import { sentinelAddress } from '@evt/config';
import { createRedis } from '@evt/queue';
import { AppProcess, freePort, sleep, waitForHealthy, waitForPort } from './processes';

/** How the apps reach a Redis deployment of several nodes, and how to tear it down. */
export interface RedisTopology {
  /** Environment for the apps (REDIS_SENTINELS and REDIS_SENTINEL_NAME, or REDIS_CLUSTER_NODES). */
  env: Record<string, string>;
  /** The address createRedis takes, for the harness's own reads (queue depths). */
  address: string;
  dispose(): Promise<void>;
}

/** One command to one node (or sentinel), on a connection of its own that is closed afterwards. */
async function command<T>(port: number, name: string, ...args: Array<string | number>): Promise<T> {
  const redis = createRedis(`redis://127.0.0.1:${port}`, 'admin');
  try {
    return (await redis.call(name, ...args)) as T;
  } finally {
    redis.disconnect();
  }
}

/**
 * A `redis-server` on a port of its own (AOF on, everysec, noeviction) that can be killed and
 * started again, as a replica of another node if need be: what an operator does with a failed primary.
 */
export class RedisNode {
  private child: ChildProcess | undefined;

  private constructor(
    readonly port: number,
    private readonly dir: string,
  ) {}

  /** Starts a node on a free port, replicating the node on `replicaOf` when given. */
  static async start(options: { replicaOf?: number } = {}): Promise<RedisNode> {
    const node = new RedisNode(await freePort(), mkdtempSync(path.join(tmpdir(), 'evt-redis-node-')));
    await node.start(options);
    return node;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts the server on its port with its data folder; as a replica of `replicaOf` when given. */
  async start(options: { replicaOf?: number } = {}): Promise<void> {
    const args = [
      '--port',
      String(this.port),
      '--bind',
      '127.0.0.1',
      '--dir',
      this.dir,
      '--save',
      '',
      '--appendonly',
      'yes',
      '--appendfsync',
      'everysec',
      '--maxmemory-policy',
      'noeviction',
      // Redis 7 waits 5 s by default for more replicas before a full sync: a rejoining replica must not.
      '--repl-diskless-sync-delay',
      '0',
      ...(options.replicaOf ? ['--replicaof', '127.0.0.1', String(options.replicaOf)] : []),
    ];
    this.child = spawn('redis-server', args, { stdio: 'ignore' });
    await waitForPort(this.port, 10_000);
  }

  /** SIGKILL, as a crash of the process or its machine; resolves once it has exited. */
  async kill(): Promise<void> {
    const running = this.child;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill('SIGKILL');
    await exited;
  }

  /**
   * SIGSTOP (`pause: true`) or SIGCONT: a stopped replica reads nothing from its primary, which
   * keeps acknowledging writes the replica does not have: a replica that lags, as over a slow network.
   */
  signalPause(pause: boolean): void {
    if (this.child?.pid !== undefined && this.child.exitCode === null && this.child.signalCode === null)
      process.kill(this.child.pid, pause ? 'SIGSTOP' : 'SIGCONT');
  }

  /** Replicas of this node that are in sync (`state=online` in INFO replication). */
  async replicasOnline(): Promise<number> {
    const info = await command<string>(this.port, 'INFO', 'replication');
    return (info.match(/state=online/g) ?? []).length;
  }

  async dispose(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A Redis Sentinel process watching one primary. */
export class SentinelNode {
  private constructor(
    readonly port: number,
    private readonly dir: string,
    private readonly child: ChildProcess,
  ) {}

  /**
   * Starts `redis-server --sentinel` on a free port, watching `primaryPort` as `name`: `quorum`
   * sentinels must see the primary down (after `downAfterMs` without an answer) for a failover.
   */
  static async start(options: { primaryPort: number; name: string; quorum: number; downAfterMs: number; failoverTimeoutMs: number }): Promise<SentinelNode> {
    const port = await freePort();
    const dir = mkdtempSync(path.join(tmpdir(), 'evt-sentinel-node-'));
    const file = path.join(dir, 'sentinel.conf');
    const { name } = options;
    writeFileSync(
      file,
      [
        `port ${port}`,
        'bind 127.0.0.1',
        `dir ${dir}`,
        `sentinel monitor ${name} 127.0.0.1 ${options.primaryPort} ${options.quorum}`,
        `sentinel down-after-milliseconds ${name} ${options.downAfterMs}`,
        `sentinel failover-timeout ${name} ${options.failoverTimeoutMs}`,
        `sentinel parallel-syncs ${name} 1`,
        '',
      ].join('\n'),
    );
    const child = spawn('redis-server', [file, '--sentinel'], { stdio: 'ignore' });
    await waitForPort(port, 10_000);
    return new SentinelNode(port, dir, child);
  }

  /** The port of the primary this sentinel names for `name` now. */
  async primaryPort(name: string): Promise<number | undefined> {
    const address = await command<[string, string] | null>(this.port, 'SENTINEL', 'get-master-addr-by-name', name);
    return address ? Number(address[1]) : undefined;
  }

  /** How many replicas, and other sentinels, this sentinel knows for `name` (a failover needs both). */
  async peers(name: string): Promise<{ replicas: number; sentinels: number }> {
    const replicas = await command<unknown[]>(this.port, 'SENTINEL', 'replicas', name);
    const sentinels = await command<unknown[]>(this.port, 'SENTINEL', 'sentinels', name);
    return { replicas: replicas.length, sentinels: sentinels.length };
  }

  async dispose(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise((resolve) => this.child.once('exit', resolve));
      this.child.kill('SIGKILL');
      await exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A primary, its replicas and the sentinels that watch them, each a process of its own. */
export interface SentinelDeployment extends RedisTopology {
  name: string;
  /** Every data node; the first was the primary at the start. */
  nodes: RedisNode[];
  sentinels: SentinelNode[];
  /** The node the sentinels name as primary now (the first sentinel that answers). */
  primary(): Promise<RedisNode>;
  /**
   * Waits until the sentinels name a primary other than `formerPort` and that node answers as a
   * primary; resolves with it.
   */
  waitForNewPrimary(formerPort: number, timeoutMs: number): Promise<RedisNode>;
}

/**
 * Starts a Sentinel deployment on free ports: a primary, `replicas` replicas and `sentinels`
 * sentinels (quorum: a majority), a primary judged down after `downAfterMs`. Resolves once the
 * replicas are in sync and every sentinel knows them and the others, so a failover can be agreed.
 */
export async function startSentinelDeployment(
  options: { name?: string; replicas?: number; sentinels?: number; downAfterMs?: number; failoverTimeoutMs?: number } = {},
): Promise<SentinelDeployment> {
  const name = options.name ?? 'evt-primary';
  const replicaCount = options.replicas ?? 1;
  const sentinelCount = options.sentinels ?? 3;
  const nodes: RedisNode[] = [];
  const sentinels: SentinelNode[] = [];
  const dispose = async () => {
    await Promise.all(sentinels.map((sentinel) => sentinel.dispose()));
    await Promise.all(nodes.map((node) => node.dispose()));
  };
  try {
    const primary = await RedisNode.start();
    nodes.push(primary);
    for (let i = 0; i < replicaCount; i++) nodes.push(await RedisNode.start({ replicaOf: primary.port }));
    const quorum = Math.floor(sentinelCount / 2) + 1;
    for (let i = 0; i < sentinelCount; i++) {
      sentinels.push(
        await SentinelNode.start({
          primaryPort: primary.port,
          name,
          quorum,
          downAfterMs: options.downAfterMs ?? 1000,
          failoverTimeoutMs: options.failoverTimeoutMs ?? 3000,
        }),
      );
    }
    // Sentinels find the replicas and each other through the primary (hello messages every 2 s).
    const deadline = Date.now() + 30_000;
    for (;;) {
      const synced = (await primary.replicasOnline()) === replicaCount;
      const known = await Promise.all(sentinels.map((sentinel) => sentinel.peers(name)));
      if (synced && known.every((peers) => peers.replicas === replicaCount && peers.sentinels === sentinelCount - 1)) break;
      if (Date.now() > deadline) throw new Error(`sentinels did not agree on the deployment within 30 s: ${JSON.stringify(known)}`);
      await sleep(200);
    }
  } catch (error) {
    await dispose();
    throw error;
  }
  const address = sentinelAddress({ sentinels: sentinels.map((sentinel) => ({ host: '127.0.0.1', port: sentinel.port })), name });
  const primary = async (): Promise<RedisNode> => {
    for (const sentinel of sentinels) {
      const port = await sentinel.primaryPort(name).catch(() => undefined);
      const node = nodes.find((candidate) => candidate.port === port);
      if (node) return node;
    }
    throw new Error('no sentinel names a primary');
  };
  return {
    name,
    nodes,
    sentinels,
    env: { REDIS_SENTINELS: sentinels.map((sentinel) => `127.0.0.1:${sentinel.port}`).join(','), REDIS_SENTINEL_NAME: name },
    address,
    primary,
    async waitForNewPrimary(formerPort, timeoutMs) {
      // Every surviving node and every sentinel at once: the first node that is a primary and that a sentinel names.
      const deadline = Date.now() + timeoutMs;
      const candidates = nodes.filter((node) => node.port !== formerPort);
      for (;;) {
        const [roles, named] = await Promise.all([
          Promise.all(candidates.map((node) => command<[string]>(node.port, 'ROLE').catch(() => undefined))),
          Promise.all(sentinels.map((sentinel) => sentinel.primaryPort(name).catch(() => undefined))),
        ]);
        const promoted = candidates.find((node, i) => roles[i]?.[0] === 'master' && named.includes(node.port));
        if (promoted) return promoted;
        if (Date.now() > deadline) throw new Error(`the sentinels did not promote a new primary within ${timeoutMs} ms`);
        await sleep(50);
      }
    },
    dispose,
  };
}

/**
 * A database of its own (one workspace, one source, one rETL destination of it) and the built
 * apps started as processes against `redis`, as many of each as the caller starts: the
 * multi-node fault scenario's stack.
 */
export interface MultiNodeStack {
  databaseUrl: string;
  db: DbClient;
  writeKey: string;
  sourceId: string;
  workspaceId: string;
  destinationId: string;
  /** Environment every app gets: the topology's, DATABASE_URL, QUEUE_PREFIX, LOG_LEVEL … */
  env: Record<string, string>;
  /** Starts a gateway on a free port and waits until it is healthy; `name` tells it apart in reports. */
  startGateway(options?: MultiNodeAppOptions): Promise<{ app: AppProcess; url: string; port: number }>;
  startWorker(options?: MultiNodeAppOptions): AppProcess;
  startInternalWorker(options?: MultiNodeAppOptions): AppProcess;
  /** Drops the database (the apps and the topology are the caller's to stop). */
  stop(): Promise<void>;
}

/** One app process of a MultiNodeStack: its name in reports, and environment beside the stack's. */
export interface MultiNodeAppOptions {
  name?: string;
  env?: Record<string, string>;
}

export async function startMultiNodeStack(options: { redis: RedisTopology; prefix: string; baseDatabaseUrl?: string }): Promise<MultiNodeStack> {
  const url = new URL(options.baseDatabaseUrl ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
  url.pathname = `/evt_multinode_${Date.now()}_${Math.floor(Math.random() * 1e6)}`;
  const databaseUrl = url.toString();
  await migrate(databaseUrl);
  const db = createDbClient(databaseUrl, { max: 4, applicationName: 'evt-multinode' });
  const workspace = await new WorkspacesRepository(db.db).create('multinode');
  const source = await new SourcesRepository(db.db).create({ workspaceId: workspace.id, name: 'multinode' });
  const destination = await new DestinationsRepository(db.db).add(source.id, 'multinode');
  const inherited = { ...(process.env as Record<string, string>) };
  // The topology says where Redis is; a REDIS_URL of the caller's would otherwise come along.
  for (const variable of ['REDIS_URL', 'REDIS_SENTINELS', 'REDIS_SENTINEL_NAME', 'REDIS_CLUSTER_NODES']) delete inherited[variable];
  const env: Record<string, string> = {
    ...inherited,
    ...options.redis.env,
    DATABASE_URL: databaseUrl,
    QUEUE_PREFIX: options.prefix,
    LOG_LEVEL: 'warn',
    MIGRATE_ON_START: 'false',
  };
  return {
    databaseUrl,
    db,
    writeKey: source.writeKey,
    sourceId: source.id,
    workspaceId: workspace.id,
    destinationId: destination.id,
    env,
    async startGateway(app = {}) {
      const port = await freePort();
      const gateway = AppProcess.start(app.name ?? 'gateway', 'dist/apps/gateway/main.js', { ...env, PORT: String(port), HOST: '127.0.0.1', ...app.env });
      const gatewayUrl = `http://127.0.0.1:${port}`;
      await waitForHealthy(`${gatewayUrl}/health`, gateway, 30_000);
      return { app: gateway, url: gatewayUrl, port };
    },
    startWorker(app = {}) {
      return AppProcess.start(app.name ?? 'events-worker', 'dist/apps/events-worker/main.js', { ...env, ...app.env });
    },
    startInternalWorker(app = {}) {
      return AppProcess.start(app.name ?? 'internal-worker', 'dist/apps/internal-worker/main.js', { ...env, ...app.env });
    },
    async stop() {
      await db.close();
      await dropDatabase(databaseUrl);
    },
  };
}
