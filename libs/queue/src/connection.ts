import IORedis, { Cluster, type RedisOptions } from 'ioredis';
import { clusterOptions, sentinelOptions } from '@evt/config';
import { keySlot } from './key-slot';

/** A connection to Redis: one server (found directly or through Sentinel), or a Redis Cluster. */
export type Redis = IORedis | Cluster;
/** A connection to one Redis server (a Cluster's node, for the commands that go to one node: WAIT, INFO, SCAN). */
export type RedisNode = IORedis;

// Reconnect quickly and forever: Redis coming back (or a new primary) must be noticed within a second or two.
const retryStrategy = (attempt: number) => Math.min(50 * attempt, 1000);

// How long disconnect() waits for the server to close the socket before destroying it. ioredis's
// 2 s default also applies to a socket that never connected (Redis away), whose close never comes:
// a process that gave up on Redis then lingered 2 s after its last line. Everything we send is
// answered before we disconnect, so there is nothing left to flush.
const DISCONNECT_TIMEOUT_MS = 200;

/**
 * A Redis connection for one role. Producers fail fast while Redis is away (no offline queue:
 * the gateway must answer 503 within a second, not wait); workers block and wait, as BullMQ requires.
 * `redisUrl` is a `redis://` URL, a Sentinel address (sentinelAddress): then ioredis asks the
 * sentinels for the primary, and again after a failover; or a Cluster address (clusterAddress):
 * then ioredis's Cluster sends each command to the primary of its key's slot, and follows the
 * slots when a replica takes over.
 */
export function createRedis(redisUrl: string, role: 'producer' | 'worker' | 'admin'): Redis {
  const options: RedisOptions = {
    lazyConnect: false,
    enableOfflineQueue: role !== 'producer',
    maxRetriesPerRequest: role === 'worker' ? null : role === 'producer' ? 0 : 1,
    connectTimeout: 2000,
    disconnectTimeout: DISCONNECT_TIMEOUT_MS,
    retryStrategy,
  };
  const cluster = clusterOptions(redisUrl);
  const sentinel = sentinelOptions(redisUrl);
  const redis: Redis = cluster
    ? new Cluster(cluster.nodes, {
        enableOfflineQueue: role !== 'producer',
        enableReadyCheck: true,
        clusterRetryStrategy: retryStrategy,
        // A failover moves slots: ask again soon, for about as long as a producer may wait.
        retryDelayOnFailover: 100,
        retryDelayOnClusterDown: 100,
        retryDelayOnTryAgain: 100,
        slotsRefreshTimeout: 2000,
        scaleReads: 'master',
        redisOptions: {
          connectTimeout: 2000,
          disconnectTimeout: DISCONNECT_TIMEOUT_MS,
          maxRetriesPerRequest: options.maxRetriesPerRequest,
          ...(cluster.username ? { username: cluster.username } : {}),
          ...(cluster.password ? { password: cluster.password } : {}),
        },
      })
    : sentinel
      ? new IORedis({ ...options, ...sentinel, sentinelRetryStrategy: retryStrategy })
      : new IORedis(redisUrl, options);
  // Connection errors are reported through status and failed commands; an unhandled
  // 'error' event would otherwise crash the process.
  redis.on('error', () => undefined);
  return redis;
}

/** True when the connection can take commands now. */
export function isRedisReady(redis: Redis): boolean {
  return redis.status === 'ready';
}

/** True for a Redis Cluster connection. */
export function isCluster(redis: Redis): redis is Cluster {
  return (redis as Cluster).isCluster === true;
}

/** The servers that hold data: the one server, or every primary of a Cluster (for SCAN, INFO, CONFIG, which go to one node). */
export function primaryNodes(redis: Redis): RedisNode[] {
  return isCluster(redis) ? redis.nodes('master') : [redis];
}

/** Every server: the one server, or every node of a Cluster, replicas included (they become primaries). */
export function allNodes(redis: Redis): RedisNode[] {
  return isCluster(redis) ? redis.nodes('all') : [redis];
}

/**
 * The connection to the primary that holds `key` now: the one server, or, in a Cluster, the pool's
 * connection to the primary of the key's slot, the one its writes went over (what WAIT counts).
 * Undefined while the Cluster does not know the slot's primary (slots being refreshed).
 */
export function primaryNodeFor(redis: Redis, key: string): RedisNode | undefined {
  if (!isCluster(redis)) return redis;
  const primary = redis.slots[keySlot(key)]?.[0];
  if (primary === undefined) return undefined;
  return redis.nodes('master').find((node) => `${node.options.host}:${node.options.port}` === primary);
}

/**
 * Resolves once the connection is ready (a Cluster knows its nodes only then), or rejects after
 * `timeoutMs`: with the connection's last error when it had one (why it cannot connect), else with
 * the timeout's.
 */
export async function whenReady(redis: Redis, timeoutMs = 10_000): Promise<void> {
  if (isRedisReady(redis)) return;
  await new Promise<void>((resolve, reject) => {
    // The last connection error (ECONNREFUSED, an unknown host…) says why better than the timeout.
    let lastError: Error | undefined;
    const done = (error?: Error) => {
      clearTimeout(timer);
      redis.off('ready', ready).off('end', ended).off('error', failed);
      if (error) reject(error);
      else resolve();
    };
    const ready = () => done();
    const ended = () => done(lastError ?? new Error('the Redis connection closed'));
    const failed = (error: Error) => (lastError = error);
    const timer = setTimeout(() => done(lastError ?? new Error(`Redis not ready within ${timeoutMs} ms`)), timeoutMs);
    redis.on('ready', ready).on('end', ended).on('error', failed);
  });
}
