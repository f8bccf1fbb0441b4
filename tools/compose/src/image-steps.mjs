// `npx nx run compose:image-steps`: the Dockerfile's steps and docker-compose.yml's services,
// followed without a Docker engine, then run against this machine's Redis and Postgres.
//
// Each stage of the Dockerfile gets a folder of its own standing in for its file system: WORKDIR,
// ENV, COPY and RUN are carried out as written (read from the Dockerfile, not copied here), COPY . .
// takes the build context as .dockerignore filters it (dockerignore.mjs), and COPY --from takes the
// earlier stage's folder. Then, from the last stage's folder, as its USER and with each compose
// service's environment (.env.example's values where compose interpolates; Redis, Postgres and the
// ports pointed at this machine): migrate, the gateway and both workers, every healthcheck until it
// passes, a source made with the image's CLI, one event sent and found in Postgres, a graceful stop.
// Prints a report and exits 1 if a step failed. Takes minutes (two npm ci and the builds): not part
// of npm test. Leaves nothing behind: the folders, the processes, the database and the Redis keys go.
import { execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  copyFileSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { freePort } from '../../dev-services/src/probe.mjs';
import { contextFiles } from './dockerignore.mjs';
import { execForm, parseCopy, parseDockerfile, parseEnv, parseHealthcheck } from './dockerfile.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
// `--dockerfile=<file>` follows another Dockerfile over the same build context (to see a failure
// reported, say); the default is the repository's.
const dockerfile = path.resolve(process.argv.find((arg) => arg.startsWith('--dockerfile='))?.slice('--dockerfile='.length) ?? path.join(root, 'Dockerfile'));
const HOST_REDIS = 'redis://127.0.0.1:6379';
const HOST_POSTGRES = 'postgres://postgres@127.0.0.1:5432';
const run = `${process.pid}-${randomUUID().slice(0, 8)}`;
const database = `evt_image_steps_${run.replace(/-/g, '_')}`;
const queuePrefix = `evt-image-steps-${run}`;

const report = [];
// What of the image this run could not reproduce here, said once each.
const differences = [];
const differ = (text) => differences.includes(text) || differences.push(text);
const started = [];
let temp;
// What cleanUp has to take back.
let createdDatabase = false;
let usedRedis = false;

const log = (text) => process.stdout.write(`${text}\n`);
const indent = (text, prefix = '    │ ') =>
  text
    .trimEnd()
    .split('\n')
    .map((line) => prefix + line)
    .join('\n');

async function step(name, action) {
  const begin = Date.now();
  log(`▶ ${name}`);
  try {
    const detail = await action();
    const seconds = ((Date.now() - begin) / 1000).toFixed(1);
    report.push({ ok: true, name, detail, seconds });
    log(`✓ ${name}${detail ? ` — ${detail}` : ''} (${seconds} s)`);
    return detail;
  } catch (error) {
    const seconds = ((Date.now() - begin) / 1000).toFixed(1);
    report.push({ ok: false, name, detail: error.message, seconds });
    log(`✗ ${name} (${seconds} s)\n${indent(error.message)}`);
    throw error;
  }
}

// ---- processes ------------------------------------------------------------------------------

/** Runs a command to its end; resolves with its code and output (streamed when `stream`). */
function exec(command, args, { cwd, env, user, timeoutMs = 600_000, stream = false } = {}) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd, env, uid: user?.uid, gid: user?.gid, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const collect = (chunk) => {
      output += chunk;
      if (stream) process.stdout.write(indent(chunk.toString()) + '\n');
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    let stdout = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    const timer = setTimeout(() => killGroup(child.pid, 'SIGKILL'), timeoutMs);
    child.once('error', (error) => resolve({ code: -1, output: `${error.message}\n${output}`, stdout }));
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? signal, output, stdout });
    });
  });
}

function killGroup(pid, signal) {
  try {
    process.kill(-pid, signal);
  } catch {
    // Gone already.
  }
}

const tail = (text, lines = 30) => text.trimEnd().split('\n').slice(-lines).join('\n');

async function mustExec(what, command, args, options) {
  const result = await exec(command, args, options);
  if (result.code !== 0) throw new Error(`${what} exited ${result.code}\n${tail(result.output)}`);
  return result;
}

/** A long-running service, as `docker compose up` starts one: its output kept for the report. */
function startService(name, argv, { cwd, env, user }) {
  const child = spawn(argv[0], argv.slice(1), { cwd, env, uid: user?.uid, gid: user?.gid, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const service = { name, child, output: '', exit: undefined };
  child.stdout.on('data', (chunk) => (service.output += chunk));
  child.stderr.on('data', (chunk) => (service.output += chunk));
  service.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve((service.exit = code ?? signal))));
  started.push(service);
  return service;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Compose's and Docker's durations (`10s`, `1m30s`, `500ms`) in milliseconds. */
function durationMs(text, fallback) {
  if (text === undefined) return fallback;
  const units = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };
  return [...String(text).matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)].reduce((sum, [, amount, unit]) => sum + Number(amount) * units[unit], 0);
}

// ---- the build ------------------------------------------------------------------------------

/** The environment a RUN sees: the stage's ENV and what npm needs to reach its registry from here. */
function runEnv(stageEnv, fsRoot) {
  const passed = Object.fromEntries(
    Object.entries(process.env).filter(([key]) =>
      /^(PATH|HOME|LANG|TERM|NODE_EXTRA_CA_CERTS|SSL_CERT_FILE|SSL_CERT_DIR|https?_proxy|HTTPS?_PROXY|no_proxy|NO_PROXY)$/.test(key),
    ),
  );
  // A fresh image has an empty npm cache; a folder of the stage's own keeps this machine's out of
  // it (and out of reach of the Dockerfile's `npm cache clean --force`).
  return { ...passed, npm_config_cache: path.join(fsRoot, 'root/.npm'), ...stageEnv };
}

function copyEntry(source, target) {
  const stat = lstatSync(source);
  mkdirSync(path.dirname(target), { recursive: true });
  if (stat.isSymbolicLink()) symlinkSync(readlinkSync(source), target);
  else if (stat.isDirectory()) cpSync(source, target, { recursive: true, verbatimSymlinks: true });
  else copyFileSync(source, target);
}

async function build(stages, context) {
  const folders = [];
  for (const [index, stage] of stages.entries()) {
    const label = `stage ${index + 1}${stage.name ? ` (${stage.name})` : ''}`;
    const fsRoot = path.join(temp, `stage-${index + 1}`);
    mkdirSync(fsRoot, { recursive: true });
    chmodSync(fsRoot, 0o755);
    const state = { fsRoot, workdir: '/', env: {}, user: 'root', healthcheck: undefined, cmd: undefined, expose: [] };
    folders.push({ ...stage, state });
    differ(
      `FROM ${stage.from}: no base image here — the steps ran on this machine's Node ${process.version} and npm ${execFileSync('npm', ['-v']).toString().trim()}, not the image's`,
    );
    const inStage = (target) => path.join(fsRoot, path.posix.resolve(state.workdir, target));
    for (const { keyword, args, line } of stage.instructions) {
      const name = `${label}, Dockerfile line ${line}: ${keyword} ${args.length > 110 ? `${args.slice(0, 107)}…` : args}`;
      if (keyword === 'WORKDIR') {
        state.workdir = path.posix.resolve(state.workdir, args);
        mkdirSync(inStage('.'), { recursive: true });
      } else if (keyword === 'ENV') {
        Object.assign(state.env, Object.fromEntries(parseEnv(args)));
      } else if (keyword === 'USER') {
        state.user = args;
      } else if (keyword === 'EXPOSE') {
        state.expose.push(...args.split(/\s+/));
      } else if (keyword === 'HEALTHCHECK') {
        state.healthcheck = parseHealthcheck(args);
      } else if (keyword === 'CMD') {
        state.cmd = execForm(args);
      } else if (keyword === 'COPY') {
        await step(name, () => copy(parseCopy(args), { folders, context, inStage }));
      } else if (keyword === 'RUN') {
        await step(name, async () => {
          if (state.user !== 'root') throw new Error(`RUN as USER ${state.user} is not followed here`);
          const { output } = await mustExec('the command', 'sh', ['-c', args], {
            cwd: inStage('.'),
            env: runEnv(state.env, fsRoot),
            stream: true,
            timeoutMs: 900_000,
          });
          const skipped = /(\d+) packages? ha(?:ve|s) install scripts not yet covered by allowScripts/.exec(output);
          if (skipped)
            differ(
              `${label}, line ${line}: this machine's npm skipped the install scripts of ${skipped[1]} packages (allowScripts); the image's npm may run them`,
            );
          return 'exit 0';
        });
      }
    }
  }
  differ('no layer cache: every step ran from scratch (as `docker build --no-cache`)');
  return folders;
}

function copy({ from, sources, dest }, { folders, context, inStage }) {
  const target = inStage(dest);
  const intoFolder = dest.endsWith('/') || sources.length > 1;
  let count = 0;
  for (const source of sources) {
    if (from !== undefined) {
      const origin = folders.find((folder, index) => folder.name === from || String(index) === from);
      if (!origin) throw new Error(`COPY --from=${from}: no such stage`);
      const sourcePath = path.join(origin.state.fsRoot, path.posix.resolve(origin.state.workdir, source));
      if (!existsSync(sourcePath)) throw new Error(`COPY --from=${from} ${source}: not found in that stage`);
      // A folder's contents go to the destination, as Docker copies them.
      copyEntry(sourcePath, lstatSync(sourcePath).isDirectory() || !intoFolder ? target : path.join(target, path.basename(source)));
      count += lstatSync(sourcePath).isDirectory() ? 0 : 1;
      continue;
    }
    let prefix = path.posix.normalize(source).replace(/\/$/, '');
    if (prefix === '.') prefix = '';
    const matched = context.files.filter((file) => prefix === '' || file === prefix || file.startsWith(`${prefix}/`));
    if (matched.length === 0) {
      const why = context.ignored.some((file) => file === prefix || file.startsWith(`${prefix}/`)) ? ' (.dockerignore keeps it out)' : '';
      throw new Error(`COPY ${source}: not in the build context${why}`);
    }
    for (const file of matched) {
      // A file goes into the destination folder (or becomes the destination); a folder's contents go there.
      const into =
        file === prefix ? (intoFolder ? path.join(target, path.posix.basename(file)) : target) : path.join(target, path.posix.relative(prefix, file));
      copyEntry(path.join(root, file), into);
      count++;
    }
  }
  return from !== undefined ? `${sources.join(' ')} from stage ${from}` : `${count} file${count === 1 ? '' : 's'} of the build context`;
}

// ---- the services ---------------------------------------------------------------------------

/** .env.example as compose reads .env. */
function envExample() {
  const env = {};
  for (const line of readFileSync(path.join(root, '.env.example'), 'utf8').split('\n')) {
    const match = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (match) env[match[1]] = match[2];
  }
  return env;
}

/** Compose's `${VAR}`, `${VAR:-default}` and `${VAR:?error}`. */
function interpolate(value, env) {
  if (typeof value === 'string') {
    return value.replace(/\$\{([A-Z0-9_]+)(?::([-?])([^}]*))?\}/g, (_all, name, kind, rest) => {
      if (env[name] !== undefined && env[name] !== '') return env[name];
      if (kind === '?') throw new Error(`${name} is required: ${rest}`);
      return kind === '-' ? (rest ?? '') : '';
    });
  }
  if (Array.isArray(value)) return value.map((item) => interpolate(item, env));
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, interpolate(item, env)]));
  return value;
}

/** The image's USER: `node` if this machine has one; else, as root, the node image's ids (1000). */
function imageUser(name) {
  if (name === 'root') return { label: 'root', uid: 0, gid: 0 };
  try {
    const [, , uid, gid, , home] = execFileSync('getent', ['passwd', name]).toString().trim().split(':');
    return { label: `${name} (uid ${uid})`, uid: Number(uid), gid: Number(gid), home };
  } catch {
    if (process.getuid?.() === 0) {
      differ(
        `USER ${name}: no such user here; the apps and healthchecks ran as uid 1000, gid 1000 (the ids of the node image's ${name}) over root-owned files, as in the image`,
      );
      return { label: `uid 1000 (for USER ${name})`, uid: 1000, gid: 1000 };
    }
    differ(
      `USER ${name}: no such user here, and not root to take its ids: everything ran as ${process.env.USER ?? `uid ${process.getuid?.()}`}, the owner of the copied files (in the image root owns them)`,
    );
    return { label: `the current user (for USER ${name})`, uid: undefined, gid: undefined };
  }
}

/** The environment a container of `service` gets: the image's ENV, then compose's, then this machine's servers. */
function serviceEnv(service, image, home, overrides) {
  const env = { PATH: process.env.PATH, HOME: home, ...image.env, ...interpolate(service.environment ?? {}, envExample()) };
  if (env.DATABASE_URL !== undefined) env.DATABASE_URL = `${HOST_POSTGRES}/${database}`;
  if (env.REDIS_URL !== undefined) env.REDIS_URL = HOST_REDIS;
  if (env.REDIS_URL !== undefined) env.QUEUE_PREFIX = queuePrefix;
  return { ...env, ...overrides };
}

/** Runs a compose/Docker healthcheck test until it passes, within its start period and retries. */
async function untilHealthy(test, { env, cwd, user, options }) {
  if (test[0] === 'NONE') throw new Error('the healthcheck is turned off');
  differ('healthchecks: tried once a second until they pass, within their start period plus interval × retries (Docker tries each interval)');
  const argv = test[0] === 'CMD-SHELL' ? ['sh', '-c', test[1]] : test.slice(1);
  const timeout = durationMs(options.timeout, 30_000);
  const budget = durationMs(options.start_period ?? options['start-period'], 0) + durationMs(options.interval, 30_000) * Number(options.retries ?? 3);
  const deadline = Date.now() + budget;
  for (let attempt = 1; ; attempt++) {
    const result = await exec(argv[0], argv.slice(1), { env, cwd, user, timeoutMs: timeout });
    if (result.code === 0) return `passed on attempt ${attempt}`;
    if (Date.now() > deadline) throw new Error(`still failing after ${attempt} attempts (${budget / 1000} s): exit ${result.code}\n${tail(result.output, 10)}`);
    // Once a second, not at the check's interval: the same verdict, sooner.
    await sleep(1000);
  }
}

const psql = (sql, db = 'postgres') =>
  mustExec(`psql ${sql}`, 'psql', ['-h', '127.0.0.1', '-U', 'postgres', '-d', db, '-tAX', '-v', 'ON_ERROR_STOP=1', '-c', sql]);

async function runServices(image) {
  const compose = YAML.parse(readFileSync(path.join(root, 'docker-compose.yml'), 'utf8'), { merge: true });
  const services = compose.services;
  const user = imageUser(image.user);
  const home = path.join(image.fsRoot, 'home/node');
  mkdirSync(home, { recursive: true });
  if (user.uid !== undefined) chownSync(home, user.uid, user.gid);
  const cwd = path.join(image.fsRoot, image.workdir);
  differ(
    `one network: every service here shares this machine's, so each compose port (the gateway's 8080, each worker's 9464) became a free port, in its environment and in its healthcheck's URL`,
  );
  differ(
    `Redis and Postgres are this machine's (${HOST_REDIS}, ${HOST_POSTGRES}/${database}, a database of this run, QUEUE_PREFIX=${queuePrefix}), not the redis:7-alpine and postgres:16-alpine containers`,
  );
  differ("init: true (tini as PID 1) and the container's PID namespace: the apps ran as ordinary child processes");

  for (const name of ['redis', 'postgres']) {
    const check = services[name]?.healthcheck;
    if (!check?.test) continue;
    await step(`${name}: the compose healthcheck (${check.test.slice(1).join(' ')}) against this machine's ${name}`, () =>
      untilHealthy(check.test, { env: process.env, cwd: root, options: check }),
    );
  }
  await step('Postgres: a database of this run', async () => {
    const version = (await psql('show server_version')).stdout.trim();
    await psql(`create database "${database}"`);
    createdDatabase = true;
    return `${database} (server ${version})`;
  });

  const argvOf = (service) => [...(service.entrypoint ?? []), ...(service.command ?? (service.entrypoint ? [] : image.cmd.slice(1)))];
  const envOf = async (name) => {
    const service = services[name];
    const overrides = {};
    let test = service.healthcheck?.disable ? undefined : (service.healthcheck?.test ?? image.healthcheck?.test);
    for (const key of ['PORT', 'METRICS_PORT']) {
      const value = interpolate(service.environment ?? {}, envExample())[key];
      if (value === undefined) continue;
      overrides[key] = String(await freePort());
      test = test?.map((part) => part.replaceAll(`127.0.0.1:${value}`, `127.0.0.1:${overrides[key]}`));
    }
    return { env: serviceEnv(service, image, home, overrides), test, options: service.healthcheck ?? {} };
  };

  usedRedis = true;
  await step(`migrate: ${argvOf(services.migrate).join(' ')} (as ${user.label})`, async () => {
    const { env } = await envOf('migrate');
    const argv = argvOf(services.migrate);
    const result = await mustExec('migrate', argv[0], argv.slice(1), { cwd, env, user, timeoutMs: 120_000 });
    return `exit 0: ${tail(result.output, 1)}`;
  });

  const apps = ['gateway', 'events-worker', 'internal-worker'];
  const running = {};
  for (const name of apps) {
    const { env, test, options } = await envOf(name);
    const argv = argvOf(services[name]);
    running[name] = { env, test, options, service: startService(name, argv, { cwd, env, user }) };
    log(
      `  started ${name}: ${argv.join(' ')} (as ${user.label}${env.PORT ? `, PORT=${env.PORT}` : ''}${env.METRICS_PORT ? `, METRICS_PORT=${env.METRICS_PORT}` : ''})`,
    );
  }
  const alive = (name) => {
    const { service } = running[name];
    if (service.exit !== undefined) throw new Error(`${name} exited ${service.exit}\n${tail(service.output)}`);
  };
  for (const name of apps) {
    const { env, test, options } = running[name];
    await step(`${name}: its compose healthcheck until it passes`, async () => {
      alive(name);
      const verdict = await untilHealthy(test, { env, cwd, user, options });
      alive(name);
      return `${verdict}: ${test.at(-1).match(/http:\/\/[^'"]+/)?.[0] ?? test.join(' ')}`;
    });
  }
  if (image.healthcheck) {
    await step("gateway: the Dockerfile's HEALTHCHECK (the image's default command's) until it passes", () =>
      untilHealthy(image.healthcheck.test, { env: running.gateway.env, cwd, user, options: image.healthcheck.options }),
    );
  }

  const cli = async (...args) => {
    const { env } = await envOf('cli');
    const argv = [...argvOf(services.cli), ...args];
    const result = await mustExec(`cli ${args.join(' ')}`, argv[0], argv.slice(1), { cwd, env, user, timeoutMs: 60_000 });
    return JSON.parse(result.stdout);
  };
  let writeKey;
  await step(`cli: ${argvOf(services.cli).join(' ')} workspaces create / sources create --json (as ${user.label})`, async () => {
    await cli('workspaces', 'create', '--name', 'image-steps', '--json');
    const source = await cli('sources', 'create', '--workspace', 'image-steps', '--name', 'web', '--json');
    if (typeof source.writeKey !== 'string') throw new Error(`no writeKey in ${JSON.stringify(source)}`);
    writeKey = source.writeKey;
    return `source ${source.id}, kind ${source.kind}`;
  });

  const messageId = `image-steps-${randomUUID()}`;
  await step("gateway: POST /v1/track with the new source's write key", async () => {
    const url = `http://127.0.0.1:${running.gateway.env.PORT}/v1/track`;
    const body = JSON.stringify({ userId: 'image-steps', event: 'Image Steps Checked', messageId, properties: { run } });
    const headers = { authorization: `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`, 'content-type': 'application/json' };
    // A gateway learns of a new source within its refresh; until then it answers 401.
    const deadline = Date.now() + 60_000;
    for (let attempt = 1; ; attempt++) {
      const response = await fetch(url, { method: 'POST', headers, body });
      const text = await response.text();
      if (response.ok) return `${response.status} ${text.trim()} (attempt ${attempt})`;
      if (Date.now() > deadline) throw new Error(`${response.status} ${text}`);
      await sleep(1000);
    }
  });
  await step('events-worker: the event stored in Postgres', async () => {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const row = (await psql(`select type || ' ' || event || ' ' || user_id from events where message_id = '${messageId}'`, database)).stdout.trim();
      if (row) return `events row: ${row}`;
      alive('events-worker');
      if (Date.now() > deadline) throw new Error(`no events row with message_id ${messageId} after 60 s\n${tail(running['events-worker'].service.output)}`);
      await sleep(1000);
    }
  });

  for (const name of apps) {
    const grace = durationMs(services[name].stop_grace_period, 10_000);
    await step(`${name}: SIGTERM, stopped within stop_grace_period (${grace / 1000} s)`, async () => {
      const { service } = running[name];
      service.child.kill('SIGTERM');
      const code = await Promise.race([service.exited, sleep(grace).then(() => 'timeout')]);
      if (code === 'timeout') throw new Error(`still running after ${grace / 1000} s\n${tail(service.output)}`);
      if (code !== 0) throw new Error(`exited ${code}\n${tail(service.output)}`);
      return 'exit 0';
    });
  }
}

// ---- the run --------------------------------------------------------------------------------

async function cleanUp() {
  for (const { child, exit } of started) if (exit === undefined) killGroup(child.pid, 'SIGKILL');
  const steps = [];
  try {
    if (createdDatabase) {
      await psql(`drop database if exists "${database}" with (force)`);
      steps.push(`database ${database} dropped`);
    }
  } catch (error) {
    steps.push(`database ${database} NOT dropped: ${error.message}`);
  }
  try {
    if (!usedRedis) throw new Error('no app ran');
    const keys = execFileSync('redis-cli', ['-u', HOST_REDIS, '--scan', '--pattern', `${queuePrefix}:*`])
      .toString()
      .split('\n')
      .filter(Boolean);
    for (let i = 0; i < keys.length; i += 500) execFileSync('redis-cli', ['-u', HOST_REDIS, 'del', ...keys.slice(i, i + 500)]);
    steps.push(`${keys.length} Redis keys under ${queuePrefix}: deleted`);
  } catch (error) {
    if (usedRedis) steps.push(`Redis keys under ${queuePrefix} NOT deleted: ${error.message}`);
  }
  if (temp) {
    rmSync(temp, { recursive: true, force: true });
    steps.push(`${temp} removed`);
  }
  return steps;
}

let failed = false;
let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, async () => {
    interrupted = true;
    log(`\n${signal}: cleaning up`);
    for (const line of await cleanUp()) log(`  ${line}`);
    process.exit(130);
  });
}

try {
  temp = mkdtempSync(path.join(tmpdir(), 'image-steps-'));
  chmodSync(temp, 0o755);
  const stages = await step(`Dockerfile: ${dockerfile.startsWith(`${root}/`) ? path.relative(root, dockerfile) : dockerfile}`, () => {
    const parsed = parseDockerfile(readFileSync(dockerfile, 'utf8'));
    return Object.assign(parsed, {
      toString: () => parsed.map((stage) => `FROM ${stage.from}: ${stage.instructions.map((entry) => entry.keyword).join(', ')}`).join('; '),
    });
  });
  const context = await step('build context: git ls-files --cached --others --exclude-standard, less .dockerignore', () => {
    const found = contextFiles(root);
    return Object.assign(found, { toString: () => `${found.files.length} files; kept out: ${found.ignored.join(', ') || 'none'}` });
  });
  const folders = await build(stages, context);
  const image = { ...folders.at(-1).state };
  await step('the image: its /app/dist', () => {
    const dist = path.join(image.fsRoot, image.workdir, 'dist/apps');
    const mains = ['gateway', 'events-worker', 'internal-worker', 'cli', 'runner'].filter((app) => existsSync(path.join(dist, app, 'main.js')));
    const owner = lstatSync(path.join(dist, 'gateway/main.js')).uid;
    return `main.js of ${mains.join(', ')}; owned by uid ${owner}; USER ${image.user}, CMD ${image.cmd.slice(1).join(' ')}`;
  });
  await runServices(image);
} catch (error) {
  failed = true;
  // A failed step has said why already.
  if (report.every((entry) => entry.ok)) log(`✗ ${error.stack}`);
} finally {
  if (!interrupted) {
    const cleaned = await cleanUp();
    log('\n== image steps ==');
    report.forEach(({ ok, name, detail, seconds }, index) =>
      log(`${ok ? '✓' : '✗'} ${index + 1}. ${name}${ok && detail ? ` — ${String(detail).split('\n')[0]}` : ''} (${seconds} s)`),
    );
    log('\nNot as in the image here:');
    for (const text of differences) log(`  - ${text}`);
    log('\nCleaned up:');
    for (const line of cleaned) log(`  - ${line}`);
    log(`\n${failed ? 'FAILED' : 'PASSED'}: ${report.filter((entry) => entry.ok).length} of ${report.length} steps passed`);
    process.exitCode = failed ? 1 : 0;
  }
}
