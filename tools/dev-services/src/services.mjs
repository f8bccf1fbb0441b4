// `npm start` and `npm test` need a Redis and a Postgres. When none answers at the configured URL
// and the server is installed on this machine, a private one is started with its data under a
// folder of the project (.evt/), and stopped again when the run ends.
import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DevServiceError } from './errors.mjs';
import { createDatabase, findPostgres, leftoverPostgres, serverAccount, startPostgres, stopPostgres } from './postgres.mjs';
import { freePort, isLoopback, portFor, portOf, postgresAnswers, printable, redisAnswers } from './probe.mjs';
import { isRunning, waitForExit } from './processes.mjs';
import { findRedisServer, leftoverRedis, startRedis, stopRedis } from './redis.mjs';

export { DevServiceError } from './errors.mjs';

/** `dir` as the user reads it: relative to the working folder when inside it. */
function shown(dir) {
  const relative = path.relative(process.cwd(), dir);
  return relative && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : dir;
}

/** The URL pointed at a private server on 127.0.0.1:`port`, with the same credentials and database. */
function onPort(url, port) {
  const moved = new URL(url.toString());
  moved.hostname = '127.0.0.1';
  moved.port = String(port);
  return moved.toString();
}

function claim(dir, port, owner) {
  writeFileSync(path.join(dir, 'instance.json'), JSON.stringify({ port, owner }));
}

function redisService(url, dir, env) {
  const password = decodeURIComponent(url.password);
  let binary;
  return {
    name: 'Redis',
    variable: 'REDIS_URL',
    url,
    dir,
    defaultPort: 6379,
    answers: (port) => redisAnswers(new URL(onPort(url, port))),
    leftover: () => leftoverRedis(dir),
    checkInstalled() {
      binary = findRedisServer(env);
      if (!binary) {
        return `Redis is not reachable at ${printable(url)} and redis-server is not installed: install it (Debian: apt-get install redis-server) or set REDIS_URL`;
      }
      return undefined;
    },
    start: ({ port, persistent, owner }) => startRedis({ binary, dir, port, persistent, password, owner }),
    stop: (instance) => stopRedis({ dir, pid: instance.pid, port: instance.port, password }),
    ready: async () => undefined,
  };
}

function postgresService(url, dir, env) {
  const user = decodeURIComponent(url.username) || 'postgres';
  const database = decodeURIComponent(url.pathname.slice(1)) || user;
  let bin;
  let account;
  return {
    name: 'Postgres',
    variable: 'DATABASE_URL',
    url,
    dir,
    defaultPort: 5432,
    answers: (port) => postgresAnswers(new URL(onPort(url, port))),
    leftover: () => leftoverPostgres(dir),
    checkInstalled() {
      bin = findPostgres(env);
      if (!bin) {
        return `Postgres is not reachable at ${printable(url)} and its server (initdb, pg_ctl) is not installed: install it (Debian: apt-get install postgresql) or set DATABASE_URL`;
      }
      account = serverAccount(printable(url));
      return undefined;
    },
    async start({ port, persistent, owner }) {
      const started = await startPostgres({ bin, dir, port, user, persistent, owner, account });
      bin = started.bin;
      return started;
    },
    stop() {
      // A server a crashed run left behind is stopped before checkInstalled has run.
      if (!bin) {
        bin = findPostgres(env);
        account = serverAccount(printable(url));
      }
      return stopPostgres({ bin, dir, account });
    },
    ready: (port) => createDatabase({ bin, dir, port, user, database }),
  };
}

/**
 * What to do for one service: nothing (its URL answers), adopt a private server an earlier run left
 * running, or start one. Returns a line to print instead when that cannot be done.
 */
async function plan(service, { up, persistent, owner }) {
  const left = persistent ? service.leftover() : undefined;
  if (left && left.owner && left.owner !== owner && isRunning(left.owner)) {
    return {
      problem: `the private ${service.name} in ${shown(service.dir)} belongs to another run still going (pid ${left.owner}): stop it first, or set ${service.variable}`,
    };
  }
  const wanted = portOf(service.url, service.defaultPort);
  if (left && up && left.port === wanted) return { action: 'adopt', instance: left };
  if (up) {
    // A server answers at the URL now: it wins over a private one a crashed run left behind.
    if (left) await service.stop(left);
    return { action: 'none' };
  }
  if (left) {
    if (await service.answers(left.port)) return { action: 'adopt', instance: left };
    await service.stop(left);
  }
  if (!isLoopback(service.url)) {
    return {
      problem: `${service.name} is not reachable at ${printable(service.url)}, which is not on this machine, so no private one can stand in for it: check ${service.variable}`,
    };
  }
  try {
    const missing = service.checkInstalled();
    if (missing) return { problem: missing };
  } catch (error) {
    if (error instanceof DevServiceError) return { problem: error.message };
    throw error;
  }
  return { action: 'start' };
}

/**
 * Makes sure a Redis and a Postgres answer for this run. For each URL that does not answer within
 * about a second, starts a private server in `root` (`redis/`, `postgres/`): persistent ones keep
 * their data and are found again by the next run (also when a crashed run left them running);
 * throwaway ones skip durability and take a free port. Prints one line per private server.
 * Throws DevServiceError (one line per service) when a server is neither reachable nor installed.
 *
 * @param {{ redisUrl?: string, databaseUrl: string, root: string, persistent: boolean, label: string,
 *   log?: (line: string) => void, env?: NodeJS.ProcessEnv, owner?: number }} options `redisUrl`
 *   undefined: Redis is not ours to look after (Sentinel, Cluster).
 * @returns {Promise<{ redisUrl?: string, databaseUrl: string, stop(): Promise<void> }>} the URLs to
 *   hand to the apps, and stop(), which stops the private servers.
 */
export async function ensureServices({ redisUrl, databaseUrl, root, persistent, label, log = console.log, env = process.env, owner = process.pid }) {
  const services = [
    ...(redisUrl === undefined ? [] : [redisService(new URL(redisUrl), path.join(root, 'redis'), env)]),
    postgresService(new URL(databaseUrl), path.join(root, 'postgres'), env),
  ];
  const ups = await Promise.all(services.map((service) => service.answers(portOf(service.url, service.defaultPort))));
  const plans = [];
  for (const [i, service] of services.entries()) plans.push(await plan(service, { up: ups[i], persistent, owner }));
  const problems = plans.filter((planned) => planned.problem).map((planned) => `${label} ${planned.problem}`);
  if (problems.length > 0) throw new DevServiceError(problems.join('\n'));

  const running = [];
  const stopAll = () => Promise.allSettled(running.map(({ service, instance }) => service.stop(instance)));
  try {
    await Promise.all(
      services.map(async (service, i) => {
        const planned = plans[i];
        if (planned.action === 'none') return;
        let instance = planned.instance;
        if (planned.action === 'adopt') {
          service.checkInstalled();
          claim(service.dir, instance.port, owner);
          running.push({ service, instance });
          log(`${label} reusing the private ${service.name} an earlier run left running on port ${instance.port}, data in ${shown(service.dir)}`);
        } else {
          const port = persistent ? await portFor(service.url, service.defaultPort) : await freePort();
          try {
            instance = await service.start({ port, persistent, owner });
          } catch (error) {
            if (error instanceof DevServiceError) throw new DevServiceError(`${label} ${error.message}`);
            throw new DevServiceError(`${label} no ${service.name} at ${printable(service.url)}, and a private one did not start: ${error.message}`);
          }
          running.push({ service, instance });
          log(
            persistent
              ? `${label} no ${service.name} at ${printable(service.url)}: started a private one on port ${port}, data in ${shown(service.dir)}`
              : `${label} no ${service.name} at ${printable(service.url)}: started a throwaway one on port ${port} for this run, in ${shown(service.dir)}`,
          );
        }
        await service.ready(instance.port);
        service.privateUrl = onPort(service.url, instance.port);
      }),
    );
  } catch (error) {
    await stopAll();
    throw error;
  }

  // A URL that answered is handed on exactly as it was given.
  const urlOf = (name, given) => services.find((service) => service.name === name)?.privateUrl ?? given;
  return {
    redisUrl: urlOf('Redis', redisUrl),
    databaseUrl: urlOf('Postgres', databaseUrl),
    async stop() {
      if (running.length === 0) return;
      await stopAll();
      const names = running.map(({ service }) => service.name).join(' and ');
      if (persistent) {
        log(`${label} stopped the private ${names}; ${running.length > 1 ? 'their' : 'its'} data stays in ${shown(root)}`);
      } else {
        rmSync(root, { recursive: true, force: true });
        log(`${label} stopped the throwaway ${names}`);
      }
    },
  };
}

/**
 * Throwaway servers live in `parent`/<pid of their run>/. A run killed outright (SIGKILL) cannot stop
 * them: the next run does, for every folder whose run has ended.
 */
export async function sweepThrowaway(parent) {
  let entries = [];
  try {
    entries = readdirSync(parent);
  } catch {
    return;
  }
  for (const entry of entries) {
    const owner = Number(entry);
    if (!Number.isInteger(owner) || owner <= 0 || isRunning(owner)) continue;
    const dir = path.join(parent, entry);
    const redis = leftoverRedis(path.join(dir, 'redis'));
    const postgres = leftoverPostgres(path.join(dir, 'postgres'));
    // Their data goes with them: the quickest ways down (Redis: SIGKILL; Postgres: SIGQUIT, an immediate stop).
    if (redis) process.kill(redis.pid, 'SIGKILL');
    if (postgres) process.kill(postgres.pid, 'SIGQUIT');
    await Promise.all([redis && waitForExit(redis.pid, 5000), postgres && waitForExit(postgres.pid, 10_000)]);
    rmSync(dir, { recursive: true, force: true });
  }
}
