import { isClusterAddress } from '@evt/config';
import { QUEUE_KEYS, QUEUES, type QueueKey } from '@evt/schemas';

/** How the job registry's queues are laid out in Redis. */
export interface QueueLayout {
  /** QUEUE_PREFIX. */
  readonly prefix: string;
  /** Redis Cluster: every queue's name carries a hash tag of its own, so that its keys share one slot. */
  readonly cluster: boolean;
  /** EVENTS_QUEUE_SHARDS: BullMQ queues per sharded queue of the registry (`events`). */
  readonly eventsShards: number;
}

/** One BullMQ queue: a registry queue, or one shard of a sharded one. */
export interface QueueShard {
  readonly key: QueueKey;
  /** 0 for a queue that is not sharded. */
  readonly shard: number;
  /** `events`, `events-1`, …: what metrics, logs, the CLI and rejected-event ids call it. */
  readonly label: string;
  /** The BullMQ queue name: the label, in braces under Redis Cluster (`{events-1}`). */
  readonly name: string;
}

/** The layout of `redisUrl`'s deployment (a Cluster address tags every queue). */
export function queueLayout(redisUrl: string, prefix: string, eventsShards = 1): QueueLayout {
  return { prefix, cluster: isClusterAddress(redisUrl), eventsShards };
}

/**
 * The BullMQ queues of a registry queue. Shard 0 keeps the queue's own name, so that one shard is
 * the queue of old (`evt:events:*`: a deployment that starts sharding keeps its waiting jobs) and
 * shard i is `events-i`. Under Cluster each name is its own hash tag (`evt:{events-2}:wait`): a
 * queue's keys share a slot, as BullMQ's scripts need, and the shards spread over the slots.
 */
export function queueShards(layout: QueueLayout, key: QueueKey): QueueShard[] {
  const count = QUEUES[key].sharded ? layout.eventsShards : 1;
  return Array.from({ length: count }, (_, shard) => {
    const label = shard === 0 ? QUEUES[key].name : `${QUEUES[key].name}-${shard}`;
    return { key, shard, label, name: layout.cluster ? `{${label}}` : label };
  });
}

/** Every BullMQ queue of the registry, in registry order, shards in order. */
export function allQueueShards(layout: QueueLayout): QueueShard[] {
  return QUEUE_KEYS.flatMap((key) => queueShards(layout, key));
}

/** A Redis key of a BullMQ queue (`evt:{events-2}:wait`), as BullMQ builds it. */
export function queueKey(layout: QueueLayout, shard: Pick<QueueShard, 'name'>, suffix: string): string {
  return `${layout.prefix}:${shard.name}:${suffix}`;
}
