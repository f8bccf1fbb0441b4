import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { loadConfig } from '@evt/config';
import { createDbClient, migrate, SourcesRepository, WorkspacesRepository } from '@evt/db';

// `npm start`: migrations, a dev source on first run, then the gateway and every worker in the
// foreground of one terminal. Production runs each app on its own (see README). `npm start` runs it
// through tools/dev-services/src/start.mjs, which hands it a private Redis and Postgres when none answers.
const APPS = ['gateway', 'events-worker', 'internal-worker'];

async function ensureDevSource(databaseUrl: string): Promise<void> {
  const client = createDbClient(databaseUrl, { max: 1, applicationName: 'evt-runner' });
  try {
    const workspaces = new WorkspacesRepository(client.db);
    const sources = new SourcesRepository(client.db);
    const existing = await sources.list();
    if (existing.length > 0) {
      const dev = existing.find((source) => source.name === 'dev') ?? existing[0];
      console.log(`[runner] ${existing.length} source(s) configured; "${dev.name}" has write key ${dev.writeKey}`);
      return;
    }
    const workspace = (await workspaces.find('dev')) ?? (await workspaces.create('dev'));
    const source = await sources.create({ workspaceId: workspace.id, name: 'dev' });
    console.log(`[runner] first run: created workspace "dev" and source "dev"\n[runner] write key: ${source.writeKey}`);
  } finally {
    await client.close();
  }
}

async function main(): Promise<void> {
  const config = loadConfig();
  const applied = await migrate(config.databaseUrl);
  console.log(applied.length > 0 ? `[runner] migrations applied: ${applied.join(', ')}` : '[runner] database is up to date');
  await ensureDevSource(config.databaseUrl);

  const children = new Map<string, ChildProcess>();
  let stopping = false;
  const stopAll = (signal: NodeJS.Signals) => {
    stopping = true;
    for (const child of children.values()) child.kill(signal);
  };
  // From the first fork on: a stop asked for while the gateway starts must still reach every app.
  process.on('SIGINT', () => stopAll('SIGTERM'));
  process.on('SIGTERM', () => stopAll('SIGTERM'));
  // With METRICS_PORT set, the events worker serves /metrics on it and the internal worker on the next port.
  const metricsPorts: Record<string, string> =
    config.metricsPort > 0 ? { 'events-worker': String(config.metricsPort), 'internal-worker': String(config.metricsPort + 1) } : {};
  for (const app of APPS) {
    const env = { ...process.env, MIGRATE_ON_START: 'false', ...(metricsPorts[app] ? { METRICS_PORT: metricsPorts[app] } : {}) };
    const child = fork(path.join(__dirname, '..', app, 'main.js'), [], { env, stdio: 'inherit' });
    children.set(app, child);
    child.on('exit', (code, signal) => {
      children.delete(app);
      if (!stopping) {
        console.error(`[runner] ${app} exited (${signal ?? code}); stopping the others`);
        process.exitCode = code || 1;
        stopAll('SIGTERM');
      }
      if (children.size === 0) process.exit();
    });
  }
  // Said once the gateway answers, so that a first request sent on reading the line is taken.
  const answering = await gatewayAnswers(config.port);
  console.log(`[runner] gateway on http://localhost:${config.port}${answering ? '' : ' (not answering on 127.0.0.1 yet)'} — Ctrl-C stops everything`);
  if (config.metricsPort > 0)
    console.log(
      `[runner] metrics: gateway :${config.port}/metrics, events worker :${config.metricsPort}/metrics, internal worker :${config.metricsPort + 1}/metrics`,
    );
}

/** True once the gateway's liveness probe answers on `port`, false after a minute or once stopping. */
async function gatewayAnswers(port: number): Promise<boolean> {
  const until = Date.now() + 60_000;
  while (Date.now() < until) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/health/live`)).ok) return true;
    } catch {
      // Not listening yet: the gateway is a separate process, so there is no event to wait on.
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return false;
}

main().catch((error: Error) => {
  console.error(`[runner] could not start: ${error.message}`);
  process.exit(1);
});
