import { backlogKey, createRedis, readQueueDepthsOn, type Redis } from '@evt/queue';

/** A field of `INFO <section>`, as a number (0 when absent). */
async function infoField(redis: Redis, section: string, field: string): Promise<number> {
  const info = await redis.info(section);
  return Number(new RegExp(`^${field}:(\\S+)`, 'm').exec(info)?.[1] ?? 0);
}

/** The pid of the bench's own redis-server, from Redis itself (the isolated stack does not expose it). */
export async function redisPid(redisUrl: string): Promise<number> {
  const redis = createRedis(redisUrl, 'admin');
  try {
    return await infoField(redis, 'server', 'process_id');
  } finally {
    redis.disconnect();
  }
}

/** What the overload run watches in Redis every few seconds. */
export interface RedisSample {
  secondsFromStart: number;
  usedMemoryBytes: number;
  /** Jobs of the events queue waiting, active or delayed. */
  queuedJobs: number;
  /** The gateways' shared count of events waiting (MAX_QUEUE_BACKLOG_EVENTS), when the key exists. */
  backlogEvents?: number;
}

/** Samples Redis every `intervalMs` on one connection of its own until `stop`. */
export function sampleRedis(redisUrl: string, prefix: string, intervalMs: number): { samples: RedisSample[]; stop(): Promise<RedisSample[]> } {
  const redis = createRedis(redisUrl, 'admin');
  const samples: RedisSample[] = [];
  const started = Date.now();
  const take = async () => {
    const [usedMemoryBytes, depths, backlogEvents] = await Promise.all([
      infoField(redis, 'memory', 'used_memory'),
      readQueueDepthsOn(redis, prefix),
      readBacklogCounter(redis, prefix),
    ]);
    const events = depths.find((depth) => depth.queue === 'events');
    samples.push({
      secondsFromStart: (Date.now() - started) / 1000,
      usedMemoryBytes,
      queuedJobs: events ? events.waiting + events.active + events.delayed : 0,
      backlogEvents,
    });
  };
  let pending: Promise<void> = take().catch(() => undefined);
  const timer = setInterval(() => {
    pending = pending.then(take).catch(() => undefined);
  }, intervalMs);
  return {
    samples,
    async stop() {
      clearInterval(timer);
      await pending;
      await take().catch(() => undefined);
      redis.disconnect();
      return samples;
    },
  };
}

/** The gateways' shared counter of events waiting (libs/queue), raw: undefined while no process keeps one. */
async function readBacklogCounter(redis: Redis, prefix: string): Promise<number | undefined> {
  const value = await redis.get(backlogKey(prefix));
  return value === null ? undefined : Number(value);
}
