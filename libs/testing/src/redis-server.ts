import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, waitForPort } from './processes';

/** A `redis-server` of the test's own, which it may stop and start again on the same port. */
export interface OwnRedis {
  url: string;
  port: number;
  start(): Promise<void>;
  /** Stops the server (SIGKILL with `kill: true`, else a clean shutdown). */
  stop(options?: { kill?: boolean }): Promise<void>;
  /** Stops it and removes its data folder. */
  dispose(): Promise<void>;
}

/**
 * The arguments every Redis of the tests' own starts with: on 127.0.0.1 only, no RDB snapshots,
 * AOF (`appendfsync` everysec unless told), and noeviction, so a full Redis refuses writes as
 * docker-compose's does.
 */
export function redisServerArgs(options: { port: number; dir: string; appendonly?: boolean; appendfsync?: 'always' | 'everysec' }): string[] {
  return [
    '--port',
    String(options.port),
    '--bind',
    '127.0.0.1',
    '--dir',
    options.dir,
    '--save',
    '',
    '--appendonly',
    options.appendonly === false ? 'no' : 'yes',
    '--appendfsync',
    options.appendfsync ?? 'everysec',
    '--maxmemory-policy',
    'noeviction',
  ];
}

/**
 * Starts `redis-server` (from PATH) on a free port, AOF on by default, data in a temporary folder.
 * `maxmemory` (`4mb`) bounds it; with noeviction, a full Redis refuses writes.
 */
export async function startOwnRedis(
  options: {
    appendonly?: boolean;
    appendfsync?: 'always' | 'everysec';
    maxmemory?: string;
    /** The port of a primary to replicate. */ replicaOf?: number;
  } = {},
): Promise<OwnRedis> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), 'evt-redis-'));
  let child: ChildProcess | undefined;
  const args = [
    ...redisServerArgs({ port, dir, appendonly: options.appendonly !== false, appendfsync: options.appendfsync }),
    ...(options.maxmemory ? ['--maxmemory', options.maxmemory] : []),
    ...(options.replicaOf ? ['--replicaof', '127.0.0.1', String(options.replicaOf)] : []),
  ];
  const own: OwnRedis = {
    url: `redis://127.0.0.1:${port}`,
    port,
    async start() {
      child = spawn('redis-server', args, { stdio: 'ignore' });
      await waitForPort(port, 10_000);
    },
    async stop(stopOptions = {}) {
      const running = child;
      if (!running || running.exitCode !== null) return;
      const exited = new Promise((resolve) => running.once('exit', resolve));
      running.kill(stopOptions.kill ? 'SIGKILL' : 'SIGTERM');
      await exited;
    },
    async dispose() {
      await own.stop({ kill: true });
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await own.start();
  return own;
}

/** A Redis Sentinel of the test's own, watching one primary. */
export interface OwnSentinel {
  port: number;
  stop(): Promise<void>;
}

/**
 * Starts `redis-server --sentinel` on a free port, watching the primary at `primaryPort` under
 * `name` (quorum 1, a primary down after 1 s), its config in a temporary folder (Sentinel rewrites it).
 */
export async function startOwnSentinel(primaryPort: number, name: string): Promise<OwnSentinel> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), 'evt-sentinel-'));
  const file = path.join(dir, 'sentinel.conf');
  writeFileSync(
    file,
    [
      `port ${port}`,
      'bind 127.0.0.1',
      `dir ${dir}`,
      `sentinel monitor ${name} 127.0.0.1 ${primaryPort} 1`,
      `sentinel down-after-milliseconds ${name} 1000`,
      `sentinel failover-timeout ${name} 5000`,
      '',
    ].join('\n'),
  );
  const child = spawn('redis-server', [file, '--sentinel'], { stdio: 'ignore' });
  await waitForPort(port, 10_000);
  return {
    port,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGKILL');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
