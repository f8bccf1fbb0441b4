import { Queue } from 'bullmq';
import { QUEUE_NAMES } from '@evt/schemas';
import { createRedis, type Redis } from './connection';

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
      depths.push({ queue: name, waiting: (counts.waiting ?? 0) + (counts.prioritized ?? 0), active: counts.active ?? 0, delayed: counts.delayed ?? 0, failed: counts.failed ?? 0 });
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
