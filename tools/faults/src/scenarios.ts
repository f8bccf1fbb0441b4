import {
  abandonUploads,
  accountPoison,
  basicAuth,
  createPoisonTargets,
  drainQueues,
  poisonProblems,
  sleep,
  startIsolatedStack,
  stuckQueues,
  timedProbe,
  type AppProcess,
  type ExitStatus,
  type IsolatedStack,
  type PoisonTargets,
} from '@evt/testing';
import { holdRequests, WORKLOADS, type Target, type Workload } from './drive';
import { accountLoads, finishLoads, startLoads } from './load';
import { drivePoison, type PoisonDriveResult } from './poison';
import type { FaultOptions, FaultResult } from './types';

export type { FaultOptions, FaultResult } from './types';

interface Running {
  stack: IsolatedStack;
  /** The poison scenario's extra sources (two workspaces, replay, rETL). */
  poison?: PoisonTargets;
  gateway: { app: AppProcess; url: string; port: number };
  worker: AppProcess;
  internalWorker?: AppProcess;
}

// Info logs: the harness waits for the workers' "started" line before it starts the load.
const WORKER_ENV = { WORKER_LOCK_MS: '2000', LOG_LEVEL: 'info' };

/** A graceful stop exits 0; anything else is a failure of the scenario. */
const exitFailures = (app: string, status: ExitStatus) => (status.code === 0 ? [] : [`${app} exited with ${status.signal ?? status.code} on SIGTERM`]);

/** The good drivers' targets: the stack's source, and with `poison` each of its event sources too. */
function goodTargets(stack: IsolatedStack, poison: PoisonTargets | undefined): Target[] {
  const own: Target = { writeKey: stack.writeKey, sourceId: stack.sourceId, workspaceId: stack.workspaceId, destinationId: stack.destinationId };
  return [own, ...(poison?.sources ?? []).map((source) => ({ ...own, writeKey: source.writeKey, sourceId: source.id, workspaceId: source.workspaceId }))];
}

/**
 * One scenario: its own stack, raw HTTP load of each workload with unique ids and the real SDK
 * beside it for `seconds`, `fault` injected a third of the way in, then the queues drained and
 * every acknowledged id looked up.
 */
async function scenario(
  name: string,
  options: FaultOptions,
  fault: (running: Running) => Promise<string | { notes: string; acknowledged: string[]; failures?: string[] }>,
  stackOptions: {
    appendfsync?: 'always' | 'everysec';
    ownPostgres?: boolean;
    workloads?: Workload[];
    /** Hostile and good events mixed, from one more driver, and the good drivers on several sources. */
    poison?: { seed: number };
  } = {},
): Promise<FaultResult> {
  options.log(`${name}…`);
  const workloads = stackOptions.workloads ?? [WORKLOADS.batch];
  const internal = workloads.some((workload) => workload !== WORKLOADS.batch);
  const prefix = `evt-faults-${name}`;
  const stack = await startIsolatedStack({ appendfsync: stackOptions.appendfsync, ownPostgres: stackOptions.ownPostgres, prefix });
  // Created before the gateway starts, so that it loads them at once.
  const poison = stackOptions.poison ? await createPoisonTargets(stack.db, name) : undefined;
  const internalWorker = internal || poison !== undefined;
  const running: Running = {
    stack,
    poison,
    gateway: await stack.startGateway(),
    worker: stack.startWorker({ env: WORKER_ENV }),
    internalWorker: internalWorker ? stack.startInternalWorker({ env: WORKER_ENV }) : undefined,
  };
  try {
    // The fault must find every process running, not still loading (a SIGTERM then is no stop to test).
    await running.worker.waitForOutput(/events worker started/, 30_000);
    await running.internalWorker?.waitForOutput(/internal worker started/, 30_000);
    const targets = goodTargets(stack, poison);
    const loads = startLoads(options, () => running.gateway.url, targets, workloads);
    const hostile: Promise<PoisonDriveResult> | undefined =
      poison && stackOptions.poison
        ? drivePoison({ url: () => running.gateway.url, targets: poison, seconds: options.seconds, connections: 2, seed: stackOptions.poison.seed })
        : undefined;
    await sleep((options.seconds * 1000) / 3);
    const injected = await fault(running);
    const notes = typeof injected === 'string' ? injected : injected.notes;
    const results = await finishLoads(loads);
    const poisonDrive = await hostile;

    // Events the fault itself got acknowledged (probes) must land too.
    const sourceIds = targets.map((target) => target.sourceId);
    const accounting = await accountLoads(stack.db, sourceIds, results, typeof injected === 'string' ? [] : injected.acknowledged, 120_000);
    const failures = typeof injected === 'string' ? [] : [...(injected.failures ?? [])];
    // The poison driver's events, good and hostile, once the queues have drained: none may be left waiting, delayed or failed.
    let account: Awaited<ReturnType<typeof accountPoison>> | undefined;
    if (poisonDrive) {
      const depths = await drainQueues(stack.redis.url, prefix, 120_000);
      account = await accountPoison(stack.db, poisonDrive.run, poisonDrive.sent);
      const problems = [...poisonProblems(account), ...stuckQueues(depths).map((line) => `queue not drained: ${line}`)];
      for (const line of problems.slice(0, 20)) options.log(`  ${line}`);
      failures.push(...problems.slice(0, 5), ...(problems.length > 5 ? [`and ${problems.length - 5} more`] : []));
    }
    const outcome: FaultResult = {
      scenario: name,
      acknowledged: accounting.acknowledged + (account?.good.acknowledged ?? 0),
      // Acknowledged ids found (the poison driver's events are in the same sources and counted apart).
      stored: accounting.stored + (account?.good.stored ?? 0),
      lost: accounting.lost + (account?.good.lost.length ?? 0),
      duplicated: accounting.duplicated + (account?.good.duplicated.length ?? 0),
      byClient: {
        ...accounting.byClient,
        ...(account ? { 'http poison (good events)': account.good.acknowledged } : {}),
      },
      refusals: accounting.refusals,
      failures,
      notes: [notes, ...accounting.abandoned].join('; '),
      ...(account && poisonDrive
        ? {
            hostile: {
              sent: account.hostile.sent,
              storedExactly: account.hostile.storedExactly,
              deduplicated: account.hostile.deduplicated,
              rejected: account.hostile.rejected,
              refused: account.hostile.refused,
              unaccounted: account.hostile.unaccounted.length,
              seed: poisonDrive.seed,
            },
          }
        : {}),
    };
    options.log(`  ${JSON.stringify(outcome)}`);
    if (outcome.lost > 0 || outcome.duplicated > 0 || failures.length > 0)
      options.log([running.worker, running.internalWorker, running.gateway.app].map((app) => app?.report() ?? '').join('\n'));
    return outcome;
  } finally {
    await running.gateway.app.stop();
    await running.worker.stop();
    await running.internalWorker?.stop();
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
      running.worker = running.stack.startWorker({ env: WORKER_ENV });
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

  'internal-worker-kill9': (options) =>
    scenario(
      'internal-worker-kill9',
      options,
      async (running) => {
        const worker = running.internalWorker as AppProcess;
        worker.kill('SIGKILL');
        await worker.stop();
        await sleep(300);
        running.internalWorker = running.stack.startInternalWorker({ env: WORKER_ENV });
        return 'internal worker killed with SIGKILL under /internal/v1/batch and /internal/v1/retl load, restarted';
      },
      { workloads: [WORKLOADS['internal-batch'], WORKLOADS.retl] },
    ),

  'internal-worker-sigterm': (options) =>
    scenario(
      'internal-worker-sigterm',
      options,
      async (running) => {
        const status = await (running.internalWorker as AppProcess).stop();
        running.internalWorker = running.stack.startInternalWorker({ env: WORKER_ENV });
        return {
          notes: `internal worker stopped with SIGTERM under /internal/v1/batch and /internal/v1/retl load (jobs in flight finished, exit ${status.code}), restarted`,
          acknowledged: [],
          failures: exitFailures('internal worker', status),
        };
      },
      { workloads: [WORKLOADS['internal-batch'], WORKLOADS.retl] },
    ),

  'gateway-sigterm': (options) =>
    scenario('gateway-sigterm', options, async (running) => {
      // Requests the gateway is in the middle of reading when SIGTERM comes: each must be answered 200.
      const held = await holdRequests(running.gateway.url, running.stack, 8, options.batchSize);
      running.gateway.app.kill('SIGTERM');
      await sleep(100);
      const answers = await held.finish();
      const status = await running.gateway.app.stop();
      await restartGateway(running);
      const unanswered = answers.filter(({ answer }) => answer !== 200);
      return {
        notes: `gateway stopped with SIGTERM under load (exit ${status.code}); the ${answers.length} requests it was reading got ${answers.map(({ answer }) => answer).join(', ')}; restarted`,
        acknowledged: answers.filter(({ answer }) => answer === 200).flatMap(({ ids }) => ids),
        failures: [
          ...(unanswered.length > 0 ? [`${unanswered.length} requests in flight at SIGTERM were not answered 200`] : []),
          ...exitFailures('gateway', status),
        ],
      };
    }),

  'worker-sigterm': (options) =>
    scenario('worker-sigterm', options, async (running) => {
      const status = await running.worker.stop();
      running.worker = running.stack.startWorker({ env: WORKER_ENV });
      return {
        notes: `worker stopped with SIGTERM under load (jobs in flight finished, exit ${status.code}), restarted`,
        acknowledged: [],
        failures: exitFailures('worker', status),
      };
    }),

  poison: (options) =>
    scenario(
      'poison',
      options,
      async (running) => {
        // Uploads without credentials stall and are abandoned around the body budget; then a normal request.
        const uploads = await abandonUploads(running.gateway.url);
        const probe = await timedProbe(running.gateway.url, basicAuth(running.stack.writeKey));
        uploads.close();
        return {
          notes: `hostile events (over-long, NUL and lone-surrogate ids and values, 1e400, nesting at the limit, __proto__ keys) mixed with good ones from 6 sources in 2 workspaces on every queue; ${uploads.opened.abandonedWaiting + uploads.opened.abandonedAdmitted + uploads.opened.stalled} uploads without credentials (up to ${uploads.largestAnnounced / 1024 / 1024} MB announced) stalled or abandoned: a normal request then answered ${probe.status} in ${probe.ms} ms`,
          acknowledged: probe.status === 200 ? [probe.messageId] : [],
          failures:
            probe.status === 200 && probe.ms < 1000
              ? []
              : [`after the abandoned uploads a normal request was answered ${probe.status || 'never'} in ${probe.ms} ms`],
        };
      },
      { poison: { seed: options.seed ?? Date.now() % 1_000_000_000 } },
    ),
};
