// A private Postgres cluster in a folder of its own: data/ (the cluster), postgres.log, the socket
// and instance.json (the pid of the run that owns it). initdb and postgres refuse to run as root:
// as root, they run as the postgres account, which then owns the folder.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DevServiceError } from './errors.mjs';
import { isRunning, lastLine, run, tailOf, which } from './processes.mjs';

const DEBIAN_ROOT = '/usr/lib/postgresql';

function hasServer(bin) {
  return existsSync(path.join(bin, 'initdb')) && existsSync(path.join(bin, 'pg_ctl'));
}

/** The folder of initdb and pg_ctl: from PATH, else the highest version under /usr/lib/postgresql; undefined when neither has them. */
export function findPostgres(env = process.env) {
  const initdb = which('initdb', env);
  if (initdb && which('pg_ctl', env)) {
    // Debian links them from elsewhere; pg_ctl and createdb are beside the real initdb.
    return path.dirname(realpathSync(initdb));
  }
  let versions = [];
  try {
    versions = readdirSync(DEBIAN_ROOT).filter((name) => /^\d+$/.test(name));
  } catch {
    return undefined;
  }
  return versions
    .sort((a, b) => Number(b) - Number(a))
    .map((version) => path.join(DEBIAN_ROOT, version, 'bin'))
    .find(hasServer);
}

/** The major version of the binaries in `bin` ("15"). */
function majorOf(bin) {
  const version = execFileSync(path.join(bin, 'pg_ctl'), ['--version'], { encoding: 'utf8' });
  return /(\d+)(?:\.\d+)?/.exec(version)?.[1];
}

/**
 * Who runs the server: undefined (ourselves) unless we are root, then the postgres account's
 * { uid, gid }. Throws DevServiceError, naming `databaseUrl`, when we are root and there is no such account.
 */
export function serverAccount(databaseUrl) {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return undefined;
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
    return { uid, gid };
  } catch {
    throw new DevServiceError(
      `Postgres is not reachable at ${databaseUrl}, and a private one cannot start: Postgres refuses to run as root and there is no postgres user to run it as; create one (Debian: adduser --system --group postgres) or set DATABASE_URL`,
    );
  }
}

/** Runs a binary of `bin` as `account` (or ourselves). */
function runServerBinary(bin, binary, args, { account, cwd, detached = false }) {
  return run(path.join(bin, binary), args, { cwd, detached, ...(account ?? {}) });
}

function readInstance(dir) {
  try {
    return JSON.parse(readFileSync(path.join(dir, 'instance.json'), 'utf8'));
  } catch {
    return undefined;
  }
}

/** The server an earlier run left running in `dir` ({ pid, port, owner }), or undefined. */
export function leftoverPostgres(dir) {
  let lines;
  try {
    // postmaster.pid: pid, data directory, start time, port, socket directory, …
    lines = readFileSync(path.join(dir, 'data', 'postmaster.pid'), 'utf8').split('\n');
  } catch {
    return undefined;
  }
  const pid = Number(lines[0]);
  if (!isRunning(pid)) return undefined;
  return { pid, port: Number(lines[3]), owner: readInstance(dir)?.owner };
}

/**
 * The folder for the cluster, owned by `account` when there is one: it must reach it through every
 * folder above, which a home folder closed to others (chmod 700) prevents.
 */
function prepareFolder(dir, account) {
  mkdirSync(dir, { recursive: true });
  chmodSync(dir, 0o700);
  if (!account) return;
  chownSync(dir, account.uid, account.gid);
  const reach = spawnSync(
    process.execPath,
    ['-e', 'require("fs").accessSync(process.argv[1], require("fs").constants.W_OK | require("fs").constants.X_OK)', dir],
    {
      ...account,
      stdio: 'ignore',
    },
  );
  if (reach.status !== 0) {
    throw new DevServiceError(
      `Postgres runs as the postgres user here (it refuses root), who cannot reach ${dir}: let others enter the folders above it (chmod o+x) or set DATABASE_URL`,
    );
  }
}

/**
 * Starts the cluster in `dir` on 127.0.0.1:`port`, after initdb the first time (trust auth, `user`
 * as its superuser). pg_ctl runs in a session of its own so that the terminal's Ctrl-C reaches the
 * apps, not the server they still need while they stop. Throwaway clusters skip fsync.
 */
export async function startPostgres({ bin, dir, port, user, persistent, owner, account }) {
  prepareFolder(dir, account);
  const data = path.join(dir, 'data');
  const logFile = path.join(dir, 'postgres.log');
  const major = majorOf(bin);
  if (existsSync(path.join(data, 'PG_VERSION'))) {
    const clusterMajor = readFileSync(path.join(data, 'PG_VERSION'), 'utf8').trim();
    if (clusterMajor !== major) {
      const sameVersion = path.join(DEBIAN_ROOT, clusterMajor, 'bin');
      if (!hasServer(sameVersion)) {
        throw new DevServiceError(
          `${dir} holds a Postgres ${clusterMajor} cluster and Postgres ${major} is installed: install ${clusterMajor} again, or remove the folder (its data is lost) to start over`,
        );
      }
      bin = sameVersion;
    }
  } else {
    rmSync(data, { recursive: true, force: true }); // what a crashed initdb left, if anything
    const init = await runServerBinary(
      bin,
      'initdb',
      ['-D', data, '-U', user, '--auth=trust', '-E', 'UTF8', '--locale=C', ...(persistent ? [] : ['--no-sync'])],
      { account, cwd: dir },
    );
    if (init.code !== 0) throw new Error(`initdb failed: ${lastLine(init.output)}`);
    writeFileSync(path.join(dir, 'superuser'), user);
  }
  const options = [`-p ${port}`, `-k '${dir}'`, '-c listen_addresses=127.0.0.1'];
  if (!persistent) options.push('-c fsync=off', '-c synchronous_commit=off', '-c full_page_writes=off', '-c max_connections=200');
  const started = await runServerBinary(bin, 'pg_ctl', ['-D', data, '-l', logFile, '-w', '-t', '60', '-o', options.join(' '), 'start'], {
    account,
    cwd: dir,
    detached: true,
  });
  if (started.code !== 0) throw new Error(`pg_ctl start failed: ${tailOf(logFile) || lastLine(started.output)}`);
  writeFileSync(path.join(dir, 'instance.json'), JSON.stringify({ port, owner }));
  const leftover = leftoverPostgres(dir);
  return { bin, pid: leftover?.pid, port };
}

/**
 * Creates the URL's `user` (a superuser, as the one initdb made) and `database` unless they exist:
 * a URL whose user changed since the cluster was made still connects. The cluster trusts local connections.
 */
export async function createDatabase({ bin, dir, port, user, database }) {
  const connection = ['-h', '127.0.0.1', '-p', String(port)];
  const options = { env: { ...process.env, PGCONNECT_TIMEOUT: '10' } };
  let superuser = user;
  try {
    superuser = readFileSync(path.join(dir, 'superuser'), 'utf8').trim() || user;
  } catch {
    // made before the file was written: initdb's superuser was the URL's user
  }
  if (superuser !== user) {
    const role = await run(path.join(bin, 'createuser'), [...connection, '-U', superuser, '--superuser', user], options);
    if (role.code !== 0 && !/already exists/.test(role.output)) throw new Error(`createuser ${user} failed: ${lastLine(role.output)}`);
  }
  const created = await run(path.join(bin, 'createdb'), [...connection, '-U', user, database], options);
  if (created.code !== 0 && !/already exists/.test(created.output)) throw new Error(`createdb ${database} failed: ${lastLine(created.output)}`);
}

/** pg_ctl stop -m fast (sessions are ended, then a clean checkpoint); -m immediate if that fails. */
export async function stopPostgres({ bin, dir, account }) {
  const data = path.join(dir, 'data');
  const fast = await runServerBinary(bin, 'pg_ctl', ['-D', data, '-m', 'fast', '-w', '-t', '60', 'stop'], { account, cwd: dir });
  if (fast.code !== 0 && leftoverPostgres(dir)) {
    await runServerBinary(bin, 'pg_ctl', ['-D', data, '-m', 'immediate', '-w', '-t', '30', 'stop'], { account, cwd: dir });
  }
  rmSync(path.join(dir, 'instance.json'), { force: true });
}
