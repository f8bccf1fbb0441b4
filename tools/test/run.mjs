// `npm test`: lint, type-check and test every project through Nx — the unit specs (`test`, each
// project's jest.config.js) and the integration specs (`test-int`, jest.int.config.js, real Redis
// and Postgres) — then print one closing line for the whole run, totals of both kinds. Exits with
// Nx's status, so any failure fails the run.
//
// The integration specs need a Redis at REDIS_URL and a Postgres at DATABASE_URL (defaults: the local
// servers). When one does not answer and is installed here, this run starts a throwaway one of its own
// under .evt/test/<pid>/ (tools/dev-services), hands its URL to Nx, and stops it when the run ends.
// With a container runtime, the specs' global setup uses Testcontainers instead, as before.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DevServiceError, ensureServices, sweepThrowaway } from '../dev-services/src/services.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
// This run's counts only: the summary reporter of every Jest process under this run writes here
// (EVT_TEST_RESULTS, inherited through Nx), not beside those of other runs in the same tree.
const results = path.join(root, 'tmp/test-results', `run-${process.pid}`);
rmSync(results, { recursive: true, force: true });
process.env.EVT_TEST_RESULTS = results;

// The child running now: Ctrl-C reaches it from the terminal, a SIGTERM sent to this run only is passed on.
let child;
let interrupted = false;
const stopChild = () => {
  interrupted = true;
  child?.kill('SIGTERM');
};
process.on('SIGINT', stopChild);
process.on('SIGTERM', stopChild);

function runChild(command, args) {
  child = spawn(command, args, { cwd: root, stdio: 'inherit' });
  return new Promise((resolve) => {
    child.once('error', () => resolve(1));
    child.once('exit', (code) => resolve(code ?? 1));
  }).finally(() => (child = undefined));
}

// Same test as libs/testing's containers.ts: there, Testcontainers supplies the servers.
const containerRuntime =
  !['off', 'false'].includes(process.env.TESTCONTAINERS ?? '') &&
  (Boolean(process.env.DOCKER_HOST) || existsSync('/var/run/docker.sock') || process.env.TESTCONTAINERS === 'on');
let services = { stop: async () => undefined };
if (!containerRuntime) {
  const throwaway = path.join(root, '.evt/test');
  await sweepThrowaway(throwaway);
  try {
    services = await ensureServices({
      redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
      databaseUrl: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
      root: path.join(throwaway, String(process.pid)),
      persistent: false,
      label: '[test]',
    });
  } catch (error) {
    console.error(error instanceof DevServiceError ? error.message : `[test] could not start a Redis or a Postgres: ${error.message}`);
    process.exit(1);
  }
  process.env.REDIS_URL = services.redisUrl;
  process.env.DATABASE_URL = services.databaseUrl;
}

let status = 0;

// The formatting check (`npm run format:check`: prettier --check against .prettierrc); `npm run
// format` rewrites what it finds. FORMAT_CHECK=0 skips it.
const checkFormat = process.env.FORMAT_CHECK !== '0';
if (checkFormat && !interrupted) {
  const format = await runChild('npx', ['prettier', '--check', '--log-level=warn', '.']);
  if (format !== 0) {
    console.error('format: the files above differ from prettier (`npm run format` rewrites them)');
    status = format;
  }
}

const args = ['nx', 'run-many', '-t', 'lint', 'typecheck', 'test', 'test-int', '--output-style=static', '--parallel=2', ...process.argv.slice(2)];
const run = interrupted ? 1 : await runChild('npx', args);
if (status === 0) status = run;
await services.stop();

const total = { passed: 0, failed: 0, skipped: 0 };
let files = [];
try {
  files = readdirSync(results).filter((file) => file.endsWith('.json'));
} catch {
  // no project reached its tests
}
for (const file of files) {
  const counts = JSON.parse(readFileSync(path.join(results, file), 'utf8'));
  for (const key of Object.keys(total)) total[key] += counts[key];
}
if (status !== 0 && total.failed === 0) total.failed = 1; // lint, type or format errors: the run failed all the same
rmSync(results, { recursive: true, force: true });
console.log(`\ntests: ${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped`);
process.exit(status);
