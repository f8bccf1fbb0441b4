import IORedis, { type Redis, type RedisOptions } from 'ioredis';
import { sentinelOptions } from '@evt/config';

export type { Redis };

// Reconnect quickly and forever: Redis coming back (or a new primary) must be noticed within a second or two.
const retryStrategy = (attempt: number) => Math.min(50 * attempt, 1000);

/**
 * A Redis connection for one role. Producers fail fast while Redis is away (no offline queue:
 * the gateway must answer 503 within a second, not wait); workers block and wait, as BullMQ requires.
 * `redisUrl` is a `redis://` URL, or a Sentinel address (sentinelAddress): then ioredis asks the
 * sentinels for the primary, and again after a failover.
 */
export function createRedis(redisUrl: string, role: 'producer' | 'worker' | 'admin'): Redis {
  const options: RedisOptions = {
    lazyConnect: false,
    enableOfflineQueue: role !== 'producer',
    maxRetriesPerRequest: role === 'worker' ? null : role === 'producer' ? 0 : 1,
    connectTimeout: 2000,
    retryStrategy,
  };
  const sentinel = sentinelOptions(redisUrl);
  const redis = sentinel ? new IORedis({ ...options, ...sentinel, sentinelRetryStrategy: retryStrategy }) : new IORedis(redisUrl, options);
  // Connection errors are reported through status and failed commands; an unhandled
  // 'error' event would otherwise crash the process.
  redis.on('error', () => undefined);
  return redis;
}

/** True when the connection can take commands now. */
export function isRedisReady(redis: Redis): boolean {
  return redis.status === 'ready';
}
