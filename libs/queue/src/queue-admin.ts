import { Job, Queue } from 'bullmq';
import { QUEUE_NAMES } from '@evt/schemas';
import { createRedis, type Redis } from './connection';
import { deterministicFailuresOf } from './job-options';

export interface QueueDepth {
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
  /** Sentences for the operator when a setting can lose acknowledged events. */
  warnings: string[];
}

/** Reads what decides whether acknowledged events survive a Redis restart. */
export async function readRedisDurability(redis: Redis): Promise<RedisDurability> {
  const get = async (name: string) => {
    const reply = (await redis.config('GET', name)) as string[];
    return reply[1] ?? 'unknown';
  };
  const [appendonly, appendfsync, maxmemoryPolicy] = [await get('appendonly'), await get('appendfsync'), await get('maxmemory-policy')];
  const warnings: string[] = [];
  if (appendonly !== 'yes') warnings.push('Redis has appendonly off: queued events are lost if Redis restarts. Set appendonly yes.');
  if (maxmemoryPolicy !== 'noeviction') {
    warnings.push(`Redis maxmemory-policy is ${maxmemoryPolicy}: under memory pressure Redis may evict queued events. Set noeviction.`);
  }
  return { appendonly, appendfsync, maxmemoryPolicy, warnings };
}

/** Counts of jobs per queue, for the CLI and operators. */
export async function readQueueDepths(redisUrl: string, prefix: string): Promise<QueueDepth[]> {
  const connection = createRedis(redisUrl, 'admin');
  try {
    return await readQueueDepthsOn(connection, prefix);
  } finally {
    connection.disconnect();
  }
}

/**
 * The same on a connection the caller keeps (the gateway's producer connection: it fails at
 * once while Redis is away instead of queueing the reads).
 */
export async function readQueueDepthsOn(connection: Redis, prefix: string): Promise<QueueDepth[]> {
  const depths: QueueDepth[] = [];
  for (const name of Object.values(QUEUE_NAMES)) {
    const queue = new Queue(name, { connection, prefix });
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

/** Deletes every key under `prefix` (tests clean up their own queues with it). */
export async function deleteQueuePrefix(redisUrl: string, prefix: string): Promise<void> {
  const redis = createRedis(redisUrl, 'admin');
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
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
  /** One queue; all of QUEUE_NAMES when unset. */
  queue?: string;
  /** These job ids only; every failed job when empty. */
  ids?: string[];
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
async function onFailedJobs(redisUrl: string, prefix: string, filter: FailedJobsFilter, limit: number, act: (job: Job) => Promise<void>): Promise<FailedJob[]> {
  const connection = createRedis(redisUrl, 'admin');
  const done: FailedJob[] = [];
  try {
    for (const name of filter.queue !== undefined ? [filter.queue] : Object.values(QUEUE_NAMES)) {
      if (done.length >= limit) break;
      const queue = new Queue(name, { connection, prefix });
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
export async function listFailedJobs(redisUrl: string, prefix: string, filter: FailedJobsFilter & { limit?: number } = {}): Promise<FailedJob[]> {
  return onFailedJobs(redisUrl, prefix, filter, filter.limit ?? 50, async () => undefined);
}

/** Moves failed jobs back to waiting, their count of failures that are not transient reset; returns those moved. */
export async function retryFailedJobs(redisUrl: string, prefix: string, filter: FailedJobsFilter = {}): Promise<FailedJob[]> {
  return onFailedJobs(redisUrl, prefix, filter, Number.MAX_SAFE_INTEGER, async (job) => {
    await job.updateProgress({ deterministicFailures: 0 });
    await job.retry('failed');
  });
}

/** Deletes failed jobs for good; returns those deleted. */
export async function discardFailedJobs(redisUrl: string, prefix: string, filter: FailedJobsFilter = {}): Promise<FailedJob[]> {
  return onFailedJobs(redisUrl, prefix, filter, Number.MAX_SAFE_INTEGER, (job) => job.remove());
}
