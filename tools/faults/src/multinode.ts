import { randomUUID } from 'node:crypto';
import { clusterAddress } from '@evt/config';
import { readQueueDepths } from '@evt/queue';
import {
  basicAuth,
  sleep,
  startMultiNodeStack,
  startOwnCluster,
  startSentinelDeployment,
  stuckQueues,
  waitFor,
  type AppProcess,
  type MultiNodeStack,
  type RedisNode,
  type RedisTopology,
} from '@evt/testing';
import { WORKLOADS, type Target } from './drive';
import { accountLoads, finishLoads, startLoads } from './load';
import { startRoundRobinProxy, type RoundRobinProxy } from './proxy';
import type { FaultOptions, FaultResult } from './types';

/** A Redis deployment under test: how the apps reach it, and how its primary is lost and replaced. */
interface RedisUnderTest extends RedisTopology {
  /** What it is, for the notes. */
  description: string;
  /** EVENTS_QUEUE_SHARDS of the apps (1: one events queue). */
  eventsShards: number;
  /** SIGKILLs the primary (in a cluster, the one that holds the events queue); resolves once it is dead. */
  killPrimary(): Promise<Failover>;
  /**
   * SIGSTOPs the replica that will take over from the primary killPrimary kills: it stops reading
   * the replication stream, so it lags; resolves with the function that lets it go on (SIGCONT).
   */
  pauseSuccessor(): Promise<() => void>;
}

interface Failover {
  /** The killed node's port. */
  killed: number;
  /** Resolves with the new primary's port once a replica serves in the killed node's place. */
  promoted(): Promise<number>;
  /** Starts the killed node again as a replica of the new primary, as an operator does; resolves once it is in sync. */
  rejoin(): Promise<void>;
}

export type Setup = 'sentinel' | 'cluster';

/**
 * Sentinel: a primary, one replica, three sentinels (quorum 2, a primary down after 1 s). With
 * one replica, the promoted replica has none, and REDIS_ACK_REPLICAS=1 is answered 503 until the
 * killed node is back as its replica: the run with acknowledgement on then shows both answers.
 */
async function sentinelSetup(): Promise<RedisUnderTest> {
  const deployment = await startSentinelDeployment({ name: 'evt-faults', replicas: 1, sentinels: 3, downAfterMs: 1000, failoverTimeoutMs: 3000 });
  return {
    env: deployment.env,
    address: deployment.address,
    dispose: () => deployment.dispose(),
    description: 'a primary, a replica and three sentinels (quorum 2, down after 1 s)',
    eventsShards: 1,
    async pauseSuccessor() {
      const primary = await deployment.primary();
      const replicas = deployment.nodes.filter((node) => node !== primary);
      for (const replica of replicas) replica.signalPause(true);
      return () => replicas.forEach((replica) => replica.signalPause(false));
    },
    async killPrimary() {
      const victim = await deployment.primary();
      await victim.kill();
      let successor: RedisNode | undefined;
      return {
        killed: victim.port,
        async promoted() {
          successor = await deployment.waitForNewPrimary(victim.port, 60_000);
          return successor.port;
        },
        async rejoin() {
          const primary = successor ?? (await deployment.waitForNewPrimary(victim.port, 60_000));
          await victim.start({ replicaOf: primary.port });
          await waitFor(async () => ((await primary.replicasOnline()) >= 1 ? true : undefined), 30_000, 'the killed node to be back in sync');
        },
      };
    },
  };
}

/** The shards of the events queue in the cluster setup: BullMQ queues whose hash tags spread them over the 3 primaries. */
const CLUSTER_EVENTS_SHARDS = 4;

/**
 * Cluster: 3 primaries and 3 replicas (node timeout 1 s), the events queue in 4 shards over the
 * primaries. The primary of the first shard (`{events}`, which also holds the count of its
 * backlog) is the one killed; its replica takes over its slots, with no replica of its own until
 * the killed node is started again and rejoins as one.
 */
async function clusterSetup(prefix: string): Promise<RedisUnderTest> {
  const cluster = await startOwnCluster({ nodeTimeoutMs: 1000 });
  const nodes = cluster.nodes.map((node) => ({ host: '127.0.0.1', port: node.port }));
  const replicasOnline = async (port: number) => ((await cluster.cli(port, 'info', 'replication')).match(/state=online/g) ?? []).length;
  return {
    env: { REDIS_CLUSTER_NODES: cluster.clusterNodes, EVENTS_QUEUE_SHARDS: String(CLUSTER_EVENTS_SHARDS) },
    address: clusterAddress({ nodes }),
    dispose: () => cluster.stop(),
    description: `a Cluster of 3 primaries and 3 replicas (node timeout 1 s), the events queue in ${CLUSTER_EVENTS_SHARDS} shards`,
    eventsShards: CLUSTER_EVENTS_SHARDS,
    async pauseSuccessor() {
      const primary = await cluster.primaryPortForSlot(await cluster.keySlot(`${prefix}:{events}:id`));
      const pids = await Promise.all(
        (await cluster.replicaPortsOf(primary)).map(async (port) => Number(/process_id:(\d+)/.exec(await cluster.cli(port, 'info', 'server'))?.[1])),
      );
      for (const pid of pids) process.kill(pid, 'SIGSTOP');
      return () => pids.forEach((pid) => process.kill(pid, 'SIGCONT'));
    },
    async killPrimary() {
      const slot = await cluster.keySlot(`${prefix}:{events}:id`);
      const killed = await cluster.primaryPortForSlot(slot);
      const victim = cluster.nodes.find((node) => node.port === killed);
      if (!victim) throw new Error(`no node on ${killed}`);
      await victim.kill();
      let successor: number | undefined;
      const promoted = async () => {
        successor ??= await waitFor(
          async () => {
            const port = await cluster.primaryPortForSlot(slot).catch(() => killed);
            return port !== killed && (await cluster.cli(port, 'role').catch(() => '')).startsWith('master') ? port : undefined;
          },
          60_000,
          'a replica to take over the killed primary',
        );
        return successor;
      };
      return {
        killed,
        promoted,
        async rejoin() {
          const primary = await promoted();
          // Started again with its node table, it learns its slots moved and becomes the new primary's replica.
          await victim.start();
          await waitFor(async () => ((await replicasOnline(primary).catch(() => 0)) >= 1 ? true : undefined), 60_000, 'the killed node to be back in sync');
          await cluster.waitForOk();
        },
      };
    },
  };
}

const SETUPS: Record<Setup, (prefix: string) => Promise<RedisUnderTest>> = { sentinel: sentinelSetup, cluster: clusterSetup };

// Info logs: the harness waits for the workers' "started" line before it starts the load.
// A killed worker's jobs are taken by the other once their 2 s lock has lapsed (checked every second).
const WORKER_ENV = { WORKER_LOCK_MS: '2000', LOG_LEVEL: 'info' };

/** How long the killed Redis node stays down before it is started again as a replica. */
const REJOIN_AFTER_MS = 2000;

/** The longest a gateway may take to answer while Redis fails over: longer is a hang. */
const ANSWER_BOUND_MS = 5000;

interface ProbeOutcome {
  /** Probe ids answered 200 (they must be stored like the clients'). */
  acknowledged: string[];
  answers: Record<string, number>;
  /** The first answer after the kill, and how long it took. */
  first: { status: number | 'none'; retryAfter: string | null; ms: number };
  slowestMs: number;
  /** Seconds from the kill to the first 200. */
  restoredSeconds: number;
  problems: string[];
}

/**
 * Sends a track event to `url` every 100 ms from the kill until one is answered 200: each must
 * be answered 200, or 503 with Retry-After (what SDKs retry), within ANSWER_BOUND_MS.
 */
async function probeUntilServing(url: string, writeKey: string, since: number, timeoutMs: number): Promise<ProbeOutcome> {
  const outcome: ProbeOutcome = {
    acknowledged: [],
    answers: {},
    first: { status: 'none', retryAfter: null, ms: 0 },
    slowestMs: 0,
    restoredSeconds: NaN,
    problems: [],
  };
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const messageId = `probe-${randomUUID()}`;
    const started = Date.now();
    let status: number | 'none' = 'none';
    let retryAfter: string | null = null;
    try {
      const answer = await fetch(`${url}/v1/track`, {
        method: 'POST',
        headers: { authorization: basicAuth(writeKey), 'content-type': 'application/json' },
        body: JSON.stringify({ userId: 'probe', event: 'Failover Probe', messageId }),
        signal: AbortSignal.timeout(ANSWER_BOUND_MS),
      });
      await answer.arrayBuffer();
      status = answer.status;
      retryAfter = answer.headers.get('retry-after');
    } catch {
      // no answer within the bound
    }
    const ms = Date.now() - started;
    if (outcome.first.status === 'none' && Object.keys(outcome.answers).length === 0) outcome.first = { status, retryAfter, ms };
    outcome.answers[status] = (outcome.answers[status] ?? 0) + 1;
    outcome.slowestMs = Math.max(outcome.slowestMs, ms);
    if (status === 200) {
      outcome.acknowledged.push(messageId);
      outcome.restoredSeconds = (Date.now() - since) / 1000;
      return outcome;
    }
    if (status !== 503 || retryAfter === null)
      outcome.problems.push(`during the failover the gateway answered ${status} (Retry-After ${retryAfter}) in ${ms} ms`);
    await sleep(100);
  }
  outcome.problems.push(`the gateway did not answer 200 again within ${timeoutMs / 1000} s of the kill`);
  return outcome;
}

const seconds = (value: number) => value.toFixed(1);

/** Waits until no queue (every shard of the events queue included) has a job waiting, active or delayed; returns the last depths read. */
async function drainQueues(address: string, prefix: string, eventsShards: number, timeoutMs: number): Promise<Awaited<ReturnType<typeof readQueueDepths>>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const depths = await readQueueDepths(address, prefix, eventsShards).catch(() => undefined);
    if (depths?.every((depth) => depth.waiting + depth.active + depth.delayed === 0) || (depths && Date.now() > deadline)) return depths;
    if (Date.now() > deadline + 30_000) throw new Error('the queue depths could not be read');
    await sleep(200);
  }
}

/**
 * Every part a process of its own: two gateways behind a round-robin proxy, two events workers,
 * two internal workers, Redis as `setup` (several nodes), one Postgres database. Under load from
 * raw HTTP (events, internal batches, rETL) and both real SDKs, a third of the way in, one
 * machine is lost: a gateway, an events worker and the Redis primary are killed with SIGKILL at
 * once. The deployment fails over; the killed Redis node is started again as a replica a few
 * seconds later; the killed gateway and worker stay dead (the proxy skips the gateway, the other
 * worker takes the stalled jobs). Then every acknowledged id is looked up.
 */
async function multiNodeScenario(name: string, setup: Setup, ackReplicas: number, options: FaultOptions, lagMs = 0): Promise<FaultResult> {
  options.log(`${name}…`);
  const started = Date.now();
  const phase = (what: string) => options.log(`  ${seconds((Date.now() - started) / 1000)} s: ${what}`);
  const prefix = `evt-faults-${name}`;
  const redis = await SETUPS[setup](prefix);
  phase(`Redis up: ${redis.description}`);
  const apps: AppProcess[] = [];
  let stack: MultiNodeStack | undefined;
  let proxy: RoundRobinProxy | undefined;
  try {
    stack = await startMultiNodeStack({ redis, prefix });
    const gatewayEnv = { REDIS_ACK_REPLICAS: String(ackReplicas) };
    const running = stack;
    const gateways = await Promise.all(['gateway-a', 'gateway-b'].map((app) => running.startGateway({ name: app, env: gatewayEnv })));
    apps.push(...gateways.map((gateway) => gateway.app));
    const workers = ['events-worker-a', 'events-worker-b'].map((app) => running.startWorker({ name: app, env: WORKER_ENV }));
    const internalWorkers = ['internal-worker-a', 'internal-worker-b'].map((app) => running.startInternalWorker({ name: app, env: WORKER_ENV }));
    apps.push(...workers, ...internalWorkers);
    await Promise.all([
      ...workers.map((worker) => worker.waitForOutput(/events worker started/, 30_000)),
      ...internalWorkers.map((worker) => worker.waitForOutput(/internal worker started/, 30_000)),
    ]);
    const gatewayProxy = await startRoundRobinProxy(gateways.map((gateway) => gateway.port));
    proxy = gatewayProxy;

    const target: Target = { writeKey: stack.writeKey, sourceId: stack.sourceId, workspaceId: stack.workspaceId, destinationId: stack.destinationId };
    const loads = startLoads(options, () => gatewayProxy.url, [target], [WORKLOADS.batch, WORKLOADS['internal-batch'], WORKLOADS.retl]);
    phase('apps up, load started');
    await sleep(Math.max(0, (options.seconds * 1000) / 3 - lagMs));
    // The lag variants: the replica that will take over stops reading the replication stream
    // lagMs before the primary dies, and the workers stop too, so that what the gateways take
    // meanwhile waits in Redis, as a backlog does (workers at pace store a job within
    // milliseconds, and a job stored before the primary dies is safe wherever Redis is).
    const resume = lagMs > 0 ? await redis.pauseSuccessor() : undefined;
    const consumers = [...workers, ...internalWorkers];
    if (resume) {
      for (const worker of consumers) worker.kill('SIGSTOP');
      phase(`the successor replica and the workers stopped (SIGSTOP) for ${lagMs} ms`);
      await sleep(lagMs);
    }

    // One machine lost: its gateway, its events worker and the Redis primary die at once.
    const killedAt = Date.now();
    gateways[0].app.kill('SIGKILL');
    workers[0].kill('SIGKILL');
    const failover = await redis.killPrimary();
    if (resume) {
      resume();
      for (const worker of consumers) worker.kill('SIGCONT');
    }
    const probing = probeUntilServing(gateways[1].url, stack.writeKey, killedAt, 120_000);
    phase(`killed gateway-a, events-worker-a and the Redis primary on ${failover.killed}`);
    const promoted = await failover.promoted();
    phase(`${promoted} promoted`);
    const failoverSeconds = (Date.now() - killedAt) / 1000;
    await sleep(Math.max(0, killedAt + failoverSeconds * 1000 + REJOIN_AFTER_MS - Date.now()));
    await failover.rejoin();
    phase(`${failover.killed} back as a replica, in sync`);
    const rejoinedSeconds = (Date.now() - killedAt) / 1000;
    const probe = await probing;
    const results = await finishLoads(loads);
    phase('load done (every retry answered)');

    const depths = await drainQueues(redis.address, prefix, redis.eventsShards, 120_000);
    phase('queues drained');
    const accounting = await accountLoads(stack.db, [stack.sourceId], results, probe.acknowledged, 15_000);
    const survivors = [gateways[1].app, workers[1], ...internalWorkers];
    const failures = [
      ...probe.problems.slice(0, 5),
      ...stuckQueues(depths).map((line) => `queue not drained: ${line}`),
      ...survivors.filter((app) => app.status !== undefined).map((app) => `${app.name} exited (${app.status?.signal ?? app.status?.code})`),
      ...Object.entries(accounting.refusals).flatMap(([client, statuses]) =>
        Object.keys(statuses)
          .filter((status) => /^4\d\d$/.test(status))
          .map((status) => `${client} was answered ${status} ×${statuses[status]}`),
      ),
    ];
    const answers503 = Object.values(accounting.refusals).reduce((sum, statuses) => sum + (statuses[503] ?? 0), 0);
    const rudderRetries = accounting.refusals['sdk @rudderstack/rudder-sdk-node']?.retried ?? 0;
    const handed = gateways.map((gateway) => gatewayProxy.handed[gateway.port]);
    const outcome: FaultResult = {
      scenario: name,
      acknowledged: accounting.acknowledged,
      stored: accounting.stored,
      lost: accounting.lost,
      duplicated: accounting.duplicated,
      byClient: accounting.byClient,
      refusals: accounting.refusals,
      failures,
      lossAllowed: ackReplicas === 0,
      notes: [
        `Redis as ${redis.description}, REDIS_ACK_REPLICAS=${ackReplicas}; 2 gateways behind a round-robin proxy (${handed.join(' / ')} connections), 2 events workers, 2 internal workers`,
        ...(lagMs > 0 ? [`the replica that took over and the workers stopped (SIGSTOP) ${lagMs} ms before the kill, let go on (SIGCONT) right after it`] : []),
        `gateway-a, events-worker-a and the Redis primary (port ${failover.killed}) killed with SIGKILL at once; port ${promoted} promoted ${seconds(failoverSeconds)} s later`,
        `gateway-b answered ${Object.entries(probe.answers)
          .map(([status, n]) => `${status} ×${n}`)
          .join(
            ', ',
          )} to probes meanwhile (first ${probe.first.status} in ${probe.first.ms} ms, slowest ${probe.slowestMs} ms), 200 again ${seconds(probe.restoredSeconds)} s after the kill`,
        `the killed node restarted as a replica of the new primary and in sync ${seconds(rejoinedSeconds)} s after the kill; gateway-a and events-worker-a left dead`,
        ...accounting.abandoned,
      ].join('; '),
      multiNode: { setup, ackReplicas, replicaLagMs: lagMs, answers503, rudderRetries, failoverSeconds },
    };
    options.log(`  ${JSON.stringify(outcome)}`);
    if ((outcome.lost > 0 && !outcome.lossAllowed) || outcome.duplicated > 0 || failures.length > 0) options.log(apps.map((app) => app.report()).join('\n'));
    return outcome;
  } finally {
    await proxy?.close();
    for (const app of apps) await app.stop();
    await stack?.stop();
    await redis.dispose();
  }
}

/**
 * How long the successor replica stays stopped in the lag variants: long enough that the
 * replication stream outgrows the kernel's socket buffers (the kernel delivers what they hold
 * after the primary's death; with 1.5 s they held it all, and nothing was lost even without
 * acknowledgement), short of what makes Sentinel or the Cluster refuse to promote the replica.
 */
const REPLICA_LAG_MS = 4000;

/**
 * The multi-node scenarios: each setup with REDIS_ACK_REPLICAS=1 (must lose nothing) and 0
 * (losses reported), with the replica in sync when the primary dies, and (`-lag-`) with the
 * replica that takes over stopped for REPLICA_LAG_MS before: what the primary acknowledged
 * meanwhile is not on it.
 */
export const MULTINODE_SCENARIOS: Record<string, (options: FaultOptions) => Promise<FaultResult>> = {
  'multinode-sentinel-ack1': (options) => multiNodeScenario('multinode-sentinel-ack1', 'sentinel', 1, options),
  'multinode-sentinel-ack0': (options) => multiNodeScenario('multinode-sentinel-ack0', 'sentinel', 0, options),
  'multinode-sentinel-lag-ack1': (options) => multiNodeScenario('multinode-sentinel-lag-ack1', 'sentinel', 1, options, REPLICA_LAG_MS),
  'multinode-sentinel-lag-ack0': (options) => multiNodeScenario('multinode-sentinel-lag-ack0', 'sentinel', 0, options, REPLICA_LAG_MS),
  'multinode-cluster-ack1': (options) => multiNodeScenario('multinode-cluster-ack1', 'cluster', 1, options),
  'multinode-cluster-ack0': (options) => multiNodeScenario('multinode-cluster-ack0', 'cluster', 0, options),
  'multinode-cluster-lag-ack1': (options) => multiNodeScenario('multinode-cluster-lag-ack1', 'cluster', 1, options, REPLICA_LAG_MS),
  'multinode-cluster-lag-ack0': (options) => multiNodeScenario('multinode-cluster-lag-ack0', 'cluster', 0, options, REPLICA_LAG_MS),
};
