// `npm start`, once the apps are built: makes sure a Redis and a Postgres answer (private ones under
// .evt/ when none does, see services.mjs), runs the runner (dist/apps/runner/main.js) with their
// URLs, and stops the private servers after the runner and its apps have stopped: Ctrl-C or SIGTERM
// reach the runner first. `node tools/dev-services/src/start.mjs -- <command…>` runs another command
// the same way. EVT_DATA_DIR moves the data folder (default: .evt in the project).
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DevServiceError, ensureServices } from './services.mjs';

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const separator = process.argv.indexOf('--');
const [command, ...args] = separator >= 0 ? process.argv.slice(separator + 1) : [process.execPath, path.join(projectRoot, 'dist/apps/runner/main.js')];
if (!command) {
  console.error('usage: node tools/dev-services/src/start.mjs [-- <command> [args…]]');
  process.exit(2);
}

let stopping = false;
let child;
const stop = () => {
  stopping = true;
  child?.kill('SIGTERM');
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);

let services;
try {
  services = await ensureServices({
    // Sentinel and Cluster deployments are named by other variables: not a single server to stand in for.
    redisUrl: process.env.REDIS_SENTINELS || process.env.REDIS_CLUSTER_NODES ? undefined : (process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'),
    databaseUrl: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/evt',
    root: path.resolve(projectRoot, process.env.EVT_DATA_DIR ?? '.evt'),
    persistent: true,
    label: '[runner]',
  });
} catch (error) {
  console.error(error instanceof DevServiceError ? error.message : `[runner] could not start: ${error.message}`);
  process.exit(1);
}

let status = 0;
if (!stopping) {
  const env = { ...process.env, DATABASE_URL: services.databaseUrl, ...(services.redisUrl ? { REDIS_URL: services.redisUrl } : {}) };
  child = spawn(command, args, { cwd: projectRoot, env, stdio: 'inherit' });
  status = await new Promise((resolve) => {
    child.once('error', (error) => {
      console.error(`[runner] could not run ${command}: ${error.message}`);
      resolve(1);
    });
    // Killed by a signal while a stop was asked for is that stop; killed otherwise is a failure.
    child.once('exit', (code) => resolve(code ?? (stopping ? 0 : 1)));
  });
}
await services.stop();
process.exit(status);
