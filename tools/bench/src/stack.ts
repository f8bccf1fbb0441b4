import { readFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { createDbClient, dropDatabase, migrate, SourcesRepository, WorkspacesRepository, type DbClient } from '@evt/db';
import { AppProcess, freePort, startOwnRedis, waitForHealthy, type OwnRedis } from '@evt/testing';

// The baseline: a plain node:http server that reads the body and answers OK, nothing else.
const BASELINE_SERVER = `
const http = require('node:http');
http.createServer((req, res) => {
  req.on('data', () => {});
  req.on('end', () => { res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' }); res.end('OK'); });
}).listen(Number(process.env.PORT), '127.0.0.1', () => console.log('baseline listening'));
`;

export interface BenchStack {
  redis: OwnRedis;
  databaseUrl: string;
  db: DbClient;
  writeKey: string;
  sourceId: string;
  env: Record<string, string>;
  stop(): Promise<void>;
}

/** Durable Redis of its own (AOF everysec, noeviction), a fresh database and one source. */
export async function startBackends(baseDatabaseUrl: string): Promise<BenchStack> {
  const redis = await startOwnRedis({ appendonly: true, appendfsync: 'everysec' });
  const url = new URL(baseDatabaseUrl);
  url.pathname = `/evt_bench_${Date.now()}`;
  const databaseUrl = url.toString();
  await migrate(databaseUrl);
  const db = createDbClient(databaseUrl, { max: 4, applicationName: 'evt-bench' });
  const workspace = await new WorkspacesRepository(db.db).create('bench');
  const source = await new SourcesRepository(db.db).create({ workspaceId: workspace.id, name: 'bench' });
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    REDIS_URL: redis.url,
    DATABASE_URL: databaseUrl,
    QUEUE_PREFIX: 'evt-bench',
    LOG_LEVEL: 'warn',
    MIGRATE_ON_START: 'false',
  };
  return {
    redis,
    databaseUrl,
    db,
    writeKey: source.writeKey,
    sourceId: source.id,
    env,
    async stop() {
      await db.close();
      await dropDatabase(databaseUrl);
      await redis.dispose();
    },
  };
}

/** A built app on a free port, healthy. */
export async function startGateway(stack: BenchStack, extraEnv: Record<string, string> = {}): Promise<{ app: AppProcess; url: string }> {
  const port = await freePort();
  const app = AppProcess.start('gateway', 'dist/apps/gateway/main.js', { ...stack.env, PORT: String(port), HOST: '127.0.0.1', ...extraEnv }, profileArgs('gateway'));
  const url = `http://127.0.0.1:${port}`;
  await waitForHealthy(`${url}/health`, app, 20_000);
  return { app, url };
}

/** BENCH_PROFILE_DIR=dir writes a CPU profile of each gateway and worker run there (when it stops). */
function profileArgs(name: string): string[] {
  const dir = process.env.BENCH_PROFILE_DIR;
  return dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}`, `--cpu-prof-name=${name}-${Date.now()}.cpuprofile`] : [];
}

export function startWorker(stack: BenchStack, extraEnv: Record<string, string> = {}): AppProcess {
  return AppProcess.start('events-worker', 'dist/apps/events-worker/main.js', { ...stack.env, ...extraEnv }, profileArgs('worker'));
}

/** The plain node:http baseline, in its own process like the gateway. */
export async function startBaseline(): Promise<{ url: string; pid: number; stop(): Promise<void> }> {
  const port = await freePort();
  const child = spawn(process.execPath, ['-e', BASELINE_SERVER], { env: { ...process.env, PORT: String(port) }, stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve) => child.stdout?.once('data', () => resolve()));
  return {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid ?? 0,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Peak resident memory of a process so far (VmHWM), in bytes; 0 where /proc is not there. */
export function peakRss(pid: number | undefined): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /VmHWM:\s+(\d+) kB/.exec(status);
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}
