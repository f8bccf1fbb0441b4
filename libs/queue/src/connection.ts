import IORedis, { type Redis } from 'ioredis';

export type { Redis };

/**
 * A Redis connection for one role. Producers fail fast while Redis is away (no offline queue:
 * the gateway must answer 503 within a second, not wait); workers block and wait, as BullMQ requires.
 */
export function createRedis(redisUrl: string, role: 'producer' | 'worker' | 'admin'): Redis {
  const redis = new IORedis(redisUrl, {
    lazyConnect: false,
    enableOfflineQueue: role !== 'producer',
    maxRetriesPerRequest: role === 'worker' ? null : role === 'producer' ? 0 : 1,
    connectTimeout: 2000,
    // Reconnect quickly and forever: Redis coming back must be noticed within a second or two.
    retryStrategy: (attempt) => Math.min(50 * attempt, 1000),
  });
  // Connection errors are reported through status and failed commands; an unhandled
  // 'error' event would otherwise crash the process.
  redis.on('error', () => undefined);
  return redis;
}

/** True when the connection can take commands now. */
export function isRedisReady(redis: Redis): boolean {
  return redis.status === 'ready';
}
