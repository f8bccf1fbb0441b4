import { Job, Queue } from 'bullmq';
import { QUEUE_KEYS, QUEUES } from '@evt/schemas';
import { allNodes, createRedis, isCluster, primaryNodes, whenReady, type Redis } from './connection';
import { allQueueShards, queueShards, type QueueLayout, type QueueShard } from './queue-layout';
import { deterministicFailuresOf } from './job-options';

export interface QueueDepth {
  /** The queue's label: `events`, or a shard's, `events-2`. */
  queue: string;
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
}

export interface RedisDurability {
  appendonly: string;
  appendfsync: string;
  maxmemoryPolicy: string;
  /** In bytes, as CONFIG GET gives it; `0` is no limit. */
  maxmemory: string;
  /** Sentences for the operator when a setting can lose acknowledged events. */
  warnings: string[];
}

/**
 * Reads what decides whether acknowledged events survive a Redis restart or a full Redis: of the
 * one server, or of every node of a Cluster (a setting is reported as the first node that departs
 * from the safe value has it, so that one careless node is not hidden by the others).
 */
export async function readRedisDurability(redis: Redis): Promise<RedisDurability> {
  const nodes = allNodes(redis);
  const get = async (name: string, safe: (value: string) => boolean) => {
    const values = await Promise.all(nodes.map(async (node) => ((await node.config('GET', name)) as string[])[1] ?? 'unknown'));
    return values.find((value) => !safe(value)) ?? values[0] ?? 'unknown';
  };
  const settings = {
    appendonly: await get('appendonly', (value) => value === 'yes'),
    appendfsync: await get('appendfsync', (value) => value === 'everysec'),
    maxmemoryPolicy: await get('maxmemory-policy', (value) => value === 'noeviction'),
    maxmemory: await get('maxmemory', (value) => value !== '0'),
  };
  return { ...settings, warnings: durabilityWarnings(settings) };
}

/** The operator's sentences for settings that can lose acknowledged events; none when all are safe. */
export function durabilityWarnings(settings: Omit<RedisDurability, 'warnings'>): string[] {
  const warnings: string[] = [];
  if (settings.appendonly !== 'yes') warnings.push('Redis has appendonly off: queued events are lost if Redis restarts. Set appendonly yes.');
  if (settings.maxmemoryPolicy !== 'noeviction') {
    warnings.push(`Redis maxmemory-policy is ${settings.maxmemoryPolicy}: under memory pressure Redis may evict queued events. Set noeviction.`);
  }
  // Without a limit noeviction never answers: Redis grows until the kernel kills it, and the
  // events it held since the last fsync go with it, instead of new requests getting 503.
  if (settings.maxmemory === '0') {
    warnings.push('Redis has no maxmemory: a full Redis is killed by the kernel instead of refusing new events. Set maxmemory below its memory limit.');
  }
  return warnings;
}

/** How the admin functions connect. */
export interface AdminConnectOptions {
  /** Give up when Redis is not ready within this (its last connection error, e.g. ECONNREFUSED, is thrown); unset: wait. */
  readyTimeoutMs?: number;
}

/** Waits until `connection` is ready, up to `timeoutMs` (whenReady: rejects with why it is not); unset: does not wait, the commands do. */
async function readyWithin(connection: Redis, timeoutMs: number | undefined): Promise<void> {
  if (timeoutMs !== undefined) await whenReady(connection, timeoutMs);
}

/** Resolves once Redis accepts a connection; rejects with why it does not (ECONNREFUSED…) after `readyTimeoutMs` (5 s by default). */
export async function checkRedis(redisUrl: string, options: AdminConnectOptions = {}): Promise<void> {
  const connection = createRedis(redisUrl, 'admin');
  try {
    await readyWithin(connection, options.readyTimeoutMs ?? 5000);
  } finally {
    connection.disconnect();
  }
}

/** Counts of jobs per queue, a sharded queue's per shard (`eventsShards`: EVENTS_QUEUE_SHARDS), for the CLI and operators. */
export async function readQueueDepths(redisUrl: string, prefix: string, eventsShards = 1, options: AdminConnectOptions = {}): Promise<QueueDepth[]> {
  const connection = createRedis(redisUrl, 'admin');
  try {
    await readyWithin(connection, options.readyTimeoutMs);
    return await readQueueDepthsOn(connection, prefix, eventsShards);
  } finally {
    connection.disconnect();
  }
}

/**
 * The same on a connection the caller keeps (the gateway's producer connection: it fails at
 * once while Redis is away instead of queueing the reads).
 */
export async function readQueueDepthsOn(connection: Redis, prefix: string, eventsShards = 1): Promise<QueueDepth[]> {
  const depths: QueueDepth[] = [];
  for (const shard of allQueueShards(layoutOf(connection, prefix, eventsShards))) {
    const name = shard.label;
    const queue = new Queue(shard.name, { connection, prefix });
    // Its failures reach the caller through getJobCounts; an 'error' event nobody hears would end the process.
    queue.on('error', () => undefined);
    try {
      const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'prioritized');
      depths.push({
        queue: name,
        waiting: (counts.waiting ?? 0) + (counts.prioritized ?? 0),
        active: counts.active ?? 0,
        delayed: counts.delayed ?? 0,
        failed: counts.failed ?? 0,
      });
    } finally {
      await queue.close();
    }
  }
  return depths;
}

/** The layout of the queues on `connection` (a Cluster tags every queue). */
function layoutOf(connection: Redis, prefix: string, eventsShards: number): QueueLayout {
  return { prefix, cluster: isCluster(connection), eventsShards };
}

/** Deletes every key under `prefix` (tests clean up their own queues with it), on every primary of a Cluster. */
export async function deleteQueuePrefix(redisUrl: string, prefix: string): Promise<void> {
  const redis = createRedis(redisUrl, 'admin');
  try {
    await whenReady(redis);
    for (const node of primaryNodes(redis)) {
      let cursor = '0';
      do {
        const [next, keys] = await node.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
        cursor = next;
        // One DEL per key: a Cluster node refuses a DEL of keys in several slots.
        if (keys.length > 0) await keys.reduce((pipeline, key) => pipeline.del(key), node.pipeline()).exec();
      } while (cursor !== '0');
    }
  } finally {
    redis.disconnect();
  }
}

/** A job that ended in `failed`: it waits for an operator (`queues retry-failed` or `discard-failed`). */
export interface FailedJob {
  queue: string;
  id: string;
  /** Every attempt, transient failures included. */
  attempts: number;
  /** The failures that were not transient, which the bound (WORKER_MAX_ATTEMPTS) counts. */
  deterministicFailures: number;
  failedAt: string | null;
  reason: string;
}

export interface FailedJobsFilter {
  /** One queue (`events`: every shard of it) or one shard (`events-2`); every queue when unset. */
  queue?: string;
  /** These job ids only; every failed job when empty. */
  ids?: string[];
  /** EVENTS_QUEUE_SHARDS. */
  eventsShards?: number;
}

/** The BullMQ queues a filter names; an unknown name is refused. */
function filteredShards(layout: QueueLayout, queue: string | undefined): QueueShard[] {
  if (queue === undefined) return allQueueShards(layout);
  const key = QUEUE_KEYS.find((candidate) => QUEUES[candidate].name === queue);
  if (key !== undefined) return queueShards(layout, key);
  const shard = allQueueShards(layout).find((candidate) => candidate.label === queue);
  if (shard === undefined) throw new Error(`no queue ${queue}`);
  return [shard];
}

const PAGE = 500;

/** The failed jobs of one queue that the filter names, oldest failure first, up to `limit`. */
async function failedJobsOf(queue: Queue, ids: string[] | undefined, limit: number): Promise<Job[]> {
  const found: Job[] = [];
  if (ids && ids.length > 0) {
    for (const id of ids) {
      const job = await Job.fromId(queue, id);
      if (job && (await job.isFailed())) found.push(job);
      if (found.length >= limit) break;
    }
    return found;
  }
  for (let start = 0; found.length < limit; start += PAGE) {
    const page = (await queue.getFailed(start, start + PAGE - 1)).filter((job): job is Job => Boolean(job));
    found.push(...page.slice(0, limit - found.length));
    if (page.length < PAGE) break;
  }
  return found;
}

/** Runs `act` on the failed jobs of each queue the filter names, while that queue is open; says what it acted on. */
async function onFailedJobs(
  redisUrl: string,
  prefix: string,
  filter: FailedJobsFilter & AdminConnectOptions,
  limit: number,
  act: (job: Job) => Promise<void>,
): Promise<FailedJob[]> {
  const connection = createRedis(redisUrl, 'admin');
  const done: FailedJob[] = [];
  try {
    await readyWithin(connection, filter.readyTimeoutMs);
    for (const shard of filteredShards(layoutOf(connection, prefix, filter.eventsShards ?? 1), filter.queue)) {
      if (done.length >= limit) break;
      const name = shard.label;
      const queue = new Queue(shard.name, { connection, prefix });
      queue.on('error', () => undefined); // failures reach the caller through the calls below
      try {
        for (const job of await failedJobsOf(queue, filter.ids, limit - done.length)) {
          done.push(describeFailed(name, job));
          await act(job);
        }
      } finally {
        await queue.close();
      }
    }
  } finally {
    connection.disconnect();
  }
  return done;
}

function describeFailed(queue: string, job: Job): FailedJob {
  return {
    queue,
    id: job.id ?? '',
    attempts: job.attemptsMade,
    deterministicFailures: deterministicFailuresOf(job.progress),
    failedAt: job.finishedOn ? new Date(job.finishedOn).toISOString() : null,
    reason: job.failedReason ?? '',
  };
}

/** The failed jobs, with their reasons, up to `limit` (default 50). */
export async function listFailedJobs(
  redisUrl: string,
  prefix: string,
  filter: FailedJobsFilter & AdminConnectOptions & { limit?: number } = {},
): Promise<FailedJob[]> {
  return onFailedJobs(redisUrl, prefix, filter, filter.limit ?? 50, async () => undefined);
}

/** Moves failed jobs back to waiting, their count of failures that are not transient reset; returns those moved. */
export async function retryFailedJobs(redisUrl: string, prefix: string, filter: FailedJobsFilter & AdminConnectOptions = {}): Promise<FailedJob[]> {
  return onFailedJobs(redisUrl, prefix, filter, Number.MAX_SAFE_INTEGER, async (job) => {
    await job.updateProgress({ deterministicFailures: 0 });
    await job.retry('failed');
  });
}

/** Deletes failed jobs for good; returns those deleted. */
export async function discardFailedJobs(redisUrl: string, prefix: string, filter: FailedJobsFilter & AdminConnectOptions = {}): Promise<FailedJob[]> {
  return onFailedJobs(redisUrl, prefix, filter, Number.MAX_SAFE_INTEGER, (job) => job.remove());
}
