import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createDbClient } from '@evt/db';
import { freePort, processAlive, WORKSPACE_ROOT } from '@evt/testing';

// `npm start`'s private servers (tools/dev-services/src/start.mjs), run as a user runs them: real
// redis-server and Postgres processes, a data folder of the test's own, URLs where nothing listens.
const START = path.join(WORKSPACE_ROOT, 'tools/dev-services/src/start.mjs');
// The command start.mjs runs: prints the URLs it was given, then waits to be stopped.
const HOLDER =
  'console.log(`URLS ${process.pid} ${process.env.REDIS_URL} ${process.env.DATABASE_URL}`); process.on("SIGTERM", () => process.exit(0)); setInterval(() => {}, 1000);';

interface Run {
  child: ChildProcess;
  stdout: string;
  stderr: string;
  exited: Promise<number | null>;
}

function startRun(env: Record<string, string>): Run {
  // A process group of its own: a failed test kills start.mjs and the command it runs together.
  const child = spawn(process.execPath, [START, '--', process.execPath, '-e', HOLDER], {
    cwd: WORKSPACE_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const run: Run = { child, stdout: '', stderr: '', exited: new Promise((resolve) => child.once('exit', (code) => resolve(code))) };
  child.stdout?.on('data', (chunk) => (run.stdout += chunk));
  child.stderr?.on('data', (chunk) => (run.stderr += chunk));
  return run;
}

/** The holder's pid and the URLs start.mjs handed it, once it has printed them. */
async function urlsOf(run: Run): Promise<{ holderPid: number; redisUrl: string; databaseUrl: string }> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const match = /^URLS (\d+) (\S+) (\S+)$/m.exec(run.stdout);
    if (match) return { holderPid: Number(match[1]), redisUrl: match[2], databaseUrl: match[3] };
    if (run.child.exitCode !== null || Date.now() > deadline) throw new Error(`no URLs printed\nstdout: ${run.stdout}\nstderr: ${run.stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** One Redis command over a raw connection (tools use no Redis driver); the first line of the answer. */
function redis(url: string, ...parts: string[]): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: hostname, port: Number(port) }, () =>
      socket.write(`*${parts.length}\r\n${parts.map((part) => `$${Buffer.byteLength(part)}\r\n${part}\r\n`).join('')}`),
    );
    socket.once('error', reject);
    socket.once('data', (chunk) => {
      socket.destroy();
      const lines = chunk.toString().split('\r\n');
      resolve(lines[0].startsWith('$') ? (lines[0] === '$-1' ? '(nil)' : lines[1]) : lines[0]);
    });
  });
}

async function sql<T>(databaseUrl: string, text: string): Promise<T[]> {
  const db = createDbClient(databaseUrl, { max: 1 });
  try {
    return (await db.query(text)) as T[];
  } finally {
    await db.close();
  }
}

function refuses(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

describe('npm start without a Redis or a Postgres to talk to', () => {
  let root: string;
  let env: Record<string, string>;
  let redisPort: number;
  let postgresPort: number;
  const runs: Run[] = [];

  beforeAll(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'evt-dev-services-'));
    chmodSync(root, 0o755); // as root, Postgres runs as the postgres user, who must reach the folder
    redisPort = await freePort();
    postgresPort = await freePort();
    env = {
      ...(process.env as Record<string, string>),
      REDIS_URL: `redis://127.0.0.1:${redisPort}`,
      DATABASE_URL: `postgres://postgres@127.0.0.1:${postgresPort}/evt_dev`,
      EVT_DATA_DIR: root,
    };
  });

  afterAll(async () => {
    for (const run of runs) {
      try {
        if (run.child.pid) process.kill(-run.child.pid, 'SIGKILL');
      } catch {
        // the group has ended
      }
    }
    // Whatever a failed test left running: the servers are ours, found through their pid files.
    for (const pidFile of [path.join(root, 'redis/redis.pid'), path.join(root, 'postgres/data/postmaster.pid')]) {
      if (!existsSync(pidFile)) continue;
      const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
      if (processAlive(pid)) process.kill(pid, 'SIGKILL');
    }
    rmSync(root, { recursive: true, force: true });
  });

  const begin = () => {
    const run = startRun(env);
    runs.push(run);
    return run;
  };

  const serverPids = () => ({
    redis: Number(readFileSync(path.join(root, 'redis/redis.pid'), 'utf8')),
    postgres: Number(readFileSync(path.join(root, 'postgres/data/postmaster.pid'), 'utf8').split('\n')[0]),
  });

  it('starts private ones on the URLs’ ports, hands their URLs to the apps, and stops them once the apps have stopped', async () => {
    const run = begin();
    const urls = await urlsOf(run);
    expect(urls.redisUrl).toBe(`redis://127.0.0.1:${redisPort}`);
    expect(urls.databaseUrl).toBe(`postgres://postgres@127.0.0.1:${postgresPort}/evt_dev`);
    expect(run.stdout.split('\n').slice(0, 2)).toEqual([
      `[runner] no Redis at redis://127.0.0.1:${redisPort}: started a private one on port ${redisPort}, data in ${root}/redis`,
      `[runner] no Postgres at postgres://postgres@127.0.0.1:${postgresPort}/evt_dev: started a private one on port ${postgresPort}, data in ${root}/postgres`,
    ]);
    expect(await redis(urls.redisUrl, 'PING')).toBe('+PONG');
    expect(await redis(urls.redisUrl, 'SET', 'kept', 'across restarts')).toBe('+OK');
    expect(await sql(urls.databaseUrl, 'SELECT 1 AS one')).toEqual([{ one: 1 }]);
    await sql(urls.databaseUrl, "CREATE TABLE kept AS SELECT 'across restarts' AS what");
    const pids = serverPids();

    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
    expect(run.stdout).toContain(`[runner] stopped the private Redis and Postgres; their data stays in ${root}\n`);
    expect(run.stderr).toBe('');
    expect([processAlive(urls.holderPid), processAlive(pids.redis), processAlive(pids.postgres)]).toEqual([false, false, false]);
    expect([await refuses(redisPort), await refuses(postgresPort)]).toEqual([true, true]);
  });

  it('keeps their data: the next start finds the key and the table written before', async () => {
    const run = begin();
    const urls = await urlsOf(run);
    expect(await redis(urls.redisUrl, 'GET', 'kept')).toBe('across restarts');
    expect(await sql(urls.databaseUrl, 'SELECT what FROM kept')).toEqual([{ what: 'across restarts' }]);
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
  });

  it('reuses the servers a killed run left running, and stops them at the end of the next', async () => {
    const crashed = begin();
    const left = await urlsOf(crashed);
    const pids = serverPids();
    crashed.child.kill('SIGKILL');
    await crashed.exited;
    process.kill(left.holderPid, 'SIGTERM');
    expect([processAlive(pids.redis), processAlive(pids.postgres)]).toEqual([true, true]);

    const run = begin();
    const urls = await urlsOf(run);
    expect(run.stdout.split('\n').slice(0, 2)).toEqual([
      `[runner] reusing the private Redis an earlier run left running on port ${redisPort}, data in ${root}/redis`,
      `[runner] reusing the private Postgres an earlier run left running on port ${postgresPort}, data in ${root}/postgres`,
    ]);
    expect(await redis(urls.redisUrl, 'GET', 'kept')).toBe('across restarts');
    expect(serverPids()).toEqual(pids);
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
    expect([processAlive(pids.redis), processAlive(pids.postgres)]).toEqual([false, false]);
  });

  it('stops with one line naming what to install when Redis is neither reachable nor installed', async () => {
    const emptyBin = mkdtempSync(path.join(tmpdir(), 'evt-no-redis-'));
    try {
      const run = startRun({
        ...env,
        PATH: emptyBin,
        // Postgres answers (the shared test server): only Redis is missing.
        DATABASE_URL: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
      });
      expect(await run.exited).toBe(1);
      expect(run.stderr).toBe(
        `[runner] Redis is not reachable at redis://127.0.0.1:${redisPort} and redis-server is not installed: install it (Debian: apt-get install redis-server) or set REDIS_URL\n`,
      );
      expect(run.stdout).toBe('');
    } finally {
      rmSync(emptyBin, { recursive: true, force: true });
    }
  });
});

// `npm test` (tools/test/run.mjs) with nothing at its URLs: throwaway servers for the run, gone after it.
// `-p` names no project, so Nx runs nothing: what is checked is the servers' life around it.
describe('npm test without a Redis or a Postgres to talk to', () => {
  it('starts throwaway ones for the run, says so, and stops and removes them when the run ends', async () => {
    const env = {
      ...(process.env as Record<string, string>),
      REDIS_URL: `redis://127.0.0.1:${await freePort()}`,
      DATABASE_URL: `postgres://postgres@127.0.0.1:${await freePort()}/postgres`,
      FORMAT_CHECK: '0',
    };
    const child = spawn(process.execPath, [path.join(WORKSPACE_ROOT, 'tools/test/run.mjs'), '-p', 'no-such-project'], {
      cwd: WORKSPACE_ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    const code = await new Promise((resolve) => child.once('exit', resolve));
    const started = [...stdout.matchAll(/^\[test\] no (Redis|Postgres) at (\S+): started a throwaway one on port (\d+) for this run, in (\S+)$/gm)];
    expect(started.map((match) => [match[1], match[2], match[4]])).toEqual([
      ['Redis', env.REDIS_URL, `.evt/test/${child.pid}/redis`],
      ['Postgres', env.DATABASE_URL, `.evt/test/${child.pid}/postgres`],
    ]);
    expect(stdout).toContain('[test] stopped the throwaway Redis and Postgres\n');
    expect(code).toBe(0);
    expect(existsSync(path.join(WORKSPACE_ROOT, '.evt/test', String(child.pid)))).toBe(false);
    expect(await Promise.all(started.map((match) => refuses(Number(match[3]))))).toEqual([true, true]);
  });
});
