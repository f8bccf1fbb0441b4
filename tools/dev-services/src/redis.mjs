// A private redis-server in a folder of its own: redis.pid, redis.log, instance.json (its port and
// the pid of the run that owns it) and, when persistent, the append-only file.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { redisAnswers, waitUntil } from './probe.mjs';
import { isRunning, lastLine, run, tailOf, waitForExit, which } from './processes.mjs';

/** The redis-server on PATH, or undefined. */
export function findRedisServer(env = process.env) {
  return which('redis-server', env);
}

function readInstance(dir) {
  try {
    return JSON.parse(readFileSync(path.join(dir, 'instance.json'), 'utf8'));
  } catch {
    return undefined;
  }
}

function readPid(dir) {
  try {
    return Number(readFileSync(path.join(dir, 'redis.pid'), 'utf8').trim());
  } catch {
    return undefined;
  }
}

function isRedis(pid) {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('redis');
  } catch {
    return true; // no /proc: trust the pid file
  }
}

/** The server an earlier run left running in `dir` ({ pid, port, owner }), or undefined. */
export function leftoverRedis(dir) {
  const pid = readPid(dir);
  const instance = readInstance(dir);
  if (!pid || !instance || !isRunning(pid) || !isRedis(pid)) return undefined;
  return { pid, port: instance.port, owner: instance.owner };
}

/**
 * Starts redis-server on 127.0.0.1:`port` with its data in `dir` (append-only when `persistent`),
 * daemonized in a session of its own, and waits until it answers PING.
 */
export async function startRedis({ binary, dir, port, persistent, password, owner }) {
  mkdirSync(dir, { recursive: true });
  const pidFile = path.join(dir, 'redis.pid');
  const logFile = path.join(dir, 'redis.log');
  rmSync(pidFile, { force: true });
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--daemonize',
    'yes',
    '--pidfile',
    pidFile,
    '--logfile',
    logFile,
    '--appendonly',
    persistent ? 'yes' : 'no',
    '--save',
    '',
    // BullMQ's queues must never be evicted.
    '--maxmemory-policy',
    'noeviction',
    ...(password ? ['--requirepass', password] : []),
  ];
  const started = await run(binary, args, { cwd: dir, detached: true });
  if (started.code !== 0) throw new Error(`redis-server did not start: ${lastLine(started.output) || tailOf(logFile)}`);
  const url = new URL(`redis://127.0.0.1:${port}`);
  const answering = await waitUntil(async () => {
    const pid = readPid(dir);
    if (pid && !isRunning(pid)) return true; // it died: stop waiting
    return redisAnswers(url, 500);
  }, 15_000);
  const pid = readPid(dir);
  if (!answering || !pid || !isRunning(pid)) {
    if (pid && isRunning(pid)) process.kill(pid, 'SIGKILL');
    throw new Error(`redis-server did not answer on port ${port}: ${tailOf(logFile) || 'no log'}`);
  }
  writeFileSync(path.join(dir, 'instance.json'), JSON.stringify({ port, owner }));
  return { pid, port };
}

/** Sends commands on one connection (AUTH holds for its connection only) and waits until the server closes it or 5 s pass. */
function send(port, commands) {
  const request = commands.map((parts) => `*${parts.length}\r\n${parts.map((part) => `$${Buffer.byteLength(part)}\r\n${part}\r\n`).join('')}`).join('');
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const done = () => {
      socket.destroy();
      resolve();
    };
    socket.setTimeout(5000, done);
    socket.once('error', done);
    socket.once('close', done);
    socket.once('connect', () => socket.write(request));
  });
}

/** SHUTDOWN (the append-only file is flushed first), then SIGKILL if it is still there 10 s later. */
export async function stopRedis({ dir, pid, port, password }) {
  if (isRunning(pid)) {
    await send(port, [...(password ? [['AUTH', password]] : []), ['SHUTDOWN']]);
    if (!(await waitForExit(pid, 10_000))) {
      process.kill(pid, 'SIGKILL');
      await waitForExit(pid, 5000);
    }
  }
  rmSync(path.join(dir, 'instance.json'), { force: true });
}
