import { startIsolatedStack, waitFor, type AppProcess, type IsolatedStack } from '@evt/testing';
import { drive } from './drive';

export interface FaultOptions {
  seconds: number;
  /** How long Postgres stays down in the postgres-stopped scenario. */
  postgresOutageSeconds: number;
  connections: number;
  batchSize: number;
  log: (line: string) => void;
}

export interface FaultResult {
  scenario: string;
  acknowledged: number;
  stored: number;
  lost: number;
  duplicated: number;
  refusals: Record<number, number>;
  notes: string;
}

interface Running {
  stack: IsolatedStack;
  gateway: { app: AppProcess; url: string; port: number };
  worker: AppProcess;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * One scenario: its own stack, load with unique messageIds for `seconds`, `fault` injected a
 * third of the way in, then the queues drained and every acknowledged messageId looked up.
 */
async function scenario(
  name: string,
  options: FaultOptions,
  fault: (running: Running) => Promise<string | { notes: string; acknowledged: string[] }>,
  stackOptions: { appendfsync?: 'always' | 'everysec'; ownPostgres?: boolean } = {},
): Promise<FaultResult> {
  options.log(`${name}…`);
  const stack = await startIsolatedStack({ appendfsync: stackOptions.appendfsync, ownPostgres: stackOptions.ownPostgres, prefix: `evt-faults-${name}` });
  const workerEnv = { WORKER_LOCK_MS: '2000' };
  const running: Running = { stack, gateway: await stack.startGateway(), worker: stack.startWorker({ env: workerEnv }) };
  try {
    const load = drive({ url: () => running.gateway.url, writeKey: stack.writeKey, connections: options.connections, seconds: options.seconds, batchSize: options.batchSize });
    await sleep((options.seconds * 1000) / 3);
    const injected = await fault(running);
    const notes = typeof injected === 'string' ? injected : injected.notes;
    const result = await load;
    // Events the fault itself got acknowledged (probes) must land too.
    const expected = new Set([...result.acknowledged, ...(typeof injected === 'string' ? [] : injected.acknowledged)]);
    try {
      await waitFor(async () => ((await stack.countEvents()) >= expected.size ? true : undefined), 120_000, 'the queues to drain');
    } catch {
      // counted below as lost
    }
    const rows = await stack.db.query<{ message_id: string; n: number }>('SELECT message_id, count(*)::int AS n FROM events WHERE source_id = $1 GROUP BY message_id', [stack.sourceId]);
    const seen = new Set(rows.map((row) => row.message_id));
    const outcome: FaultResult = {
      scenario: name,
      acknowledged: expected.size,
      stored: rows.length,
      lost: [...expected].filter((id) => !seen.has(id)).length,
      duplicated: rows.filter((row) => row.n > 1).length,
      refusals: result.refusals,
      notes: `${notes}${result.abandoned ? `; ${result.abandoned} batches abandoned by the client` : ''}`,
    };
    options.log(`  ${JSON.stringify(outcome)}`);
    if (outcome.lost > 0 || outcome.duplicated > 0) options.log(`${running.worker.report()}\n${running.gateway.app.report()}`);
    return outcome;
  } finally {
    await running.gateway.app.stop();
    await running.worker.stop();
    await stack.stop();
  }
}

/** Restarts the gateway on the same port, as a supervisor would. */
async function restartGateway(running: Running): Promise<void> {
  running.gateway = await running.stack.startGateway({ port: running.gateway.port });
}

export const SCENARIOS: Record<string, (options: FaultOptions) => Promise<FaultResult>> = {
  'gateway-kill9': (options) =>
    scenario('gateway-kill9', options, async (running) => {
      running.gateway.app.kill('SIGKILL');
      await running.gateway.app.stop();
      await sleep(300);
      await restartGateway(running);
      return 'gateway killed with SIGKILL under load, restarted on its port';
    }),

  'worker-kill9': (options) =>
    scenario('worker-kill9', options, async (running) => {
      running.worker.kill('SIGKILL');
      await running.worker.stop();
      await sleep(300);
      running.worker = running.stack.startWorker({ env: { WORKER_LOCK_MS: '2000' } });
      return 'worker killed with SIGKILL under load (mid bulk write), restarted';
    }),

  'redis-kill9-always': (options) =>
    scenario(
      'redis-kill9-always',
      options,
      async (running) => {
        await running.stack.redis.stop({ kill: true });
        await sleep(500);
        await running.stack.redis.start();
        return 'redis (appendfsync always) killed with SIGKILL under load, restarted: every acknowledged job was on disk';
      },
      { appendfsync: 'always' },
    ),

  'redis-restart-everysec': (options) =>
    scenario('redis-restart-everysec', options, async (running) => {
      await running.stack.redis.stop();
      await sleep(500);
      await running.stack.redis.start();
      return 'redis (appendfsync everysec) shut down cleanly under load (it writes its AOF out), restarted';
    }),

  'redis-stopped': (options) =>
    scenario('redis-stopped', options, async (running) => {
      await running.stack.redis.stop();
      // While Redis is away the gateway answers 503 with Retry-After within a second, never 200.
      const started = Date.now();
      const answer = await fetch(`${running.gateway.url}/v1/track`, {
        method: 'POST',
        headers: { Authorization: `Basic ${Buffer.from(`${running.stack.writeKey}:`).toString('base64')}` },
        body: JSON.stringify({ userId: 'probe', event: 'Probe' }),
      });
      const elapsed = Date.now() - started;
      await sleep(2000);
      await running.stack.redis.start();
      if (answer.status !== 503 || answer.headers.get('retry-after') === null || elapsed >= 1000) {
        throw new Error(`while Redis was down the gateway answered ${answer.status} (Retry-After ${answer.headers.get('retry-after')}) in ${elapsed} ms`);
      }
      return `redis stopped for 2 s: the gateway answered 503 with Retry-After in ${elapsed} ms; clients retried`;
    }),

  'postgres-stopped': (options) =>
    scenario(
      'postgres-stopped',
      options,
      async (running) => {
        const postgres = running.stack.postgres as NonNullable<IsolatedStack['postgres']>;
        postgres.stop();
        // The gateway keeps answering 200 from its cached source configuration; workers back off.
        await sleep(500);
        const probeId = `probe-${Date.now()}`;
        const probe = await fetch(`${running.gateway.url}/v1/track`, {
          method: 'POST',
          headers: { Authorization: `Basic ${Buffer.from(`${running.stack.writeKey}:`).toString('base64')}` },
          body: JSON.stringify({ userId: 'probe', event: 'Probe', messageId: probeId }),
        });
        await sleep(Math.max(0, options.postgresOutageSeconds * 1000 - 500));
        postgres.start();
        if (probe.status !== 200) throw new Error(`while Postgres was down the gateway answered ${probe.status}`);
        return {
          notes: `postgres stopped (immediate) for ${options.postgresOutageSeconds} s under load: the gateway kept answering 200, workers retried`,
          acknowledged: [probeId],
        };
      },
      { ownPostgres: true },
    ),

  'gateway-sigterm': (options) =>
    scenario('gateway-sigterm', options, async (running) => {
      await running.gateway.app.stop();
      await restartGateway(running);
      return 'gateway stopped with SIGTERM under load (requests in flight answered), restarted';
    }),

  'worker-sigterm': (options) =>
    scenario('worker-sigterm', options, async (running) => {
      const status = await running.worker.stop();
      running.worker = running.stack.startWorker({ env: { WORKER_LOCK_MS: '2000' } });
      return `worker stopped with SIGTERM under load (jobs in flight finished, exit ${status.code}), restarted`;
    }),
};
