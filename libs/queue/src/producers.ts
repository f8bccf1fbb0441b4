import { Queue } from 'bullmq';
import { ServiceUnavailableError, withTimeout } from '@evt/errors';
import { QUEUE_KEYS, QUEUES, type ItemOf, type QueueKey } from '@evt/schemas';
import { Backlog, CoalescingProducer, type EnqueueRequest } from './coalescing-producer';
import { createRedis, isRedisReady, primaryNodeFor, primaryNodes, type Redis } from './connection';
import { queueKey, queueLayout, queueShards, type QueueLayout } from './queue-layout';
import { DURABLE_JOB_OPTIONS } from './job-options';

export interface ProducersOptions {
  redisUrl: string;
  prefix: string;
  /** EVENTS_QUEUE_SHARDS: the events queue's jobs go round-robin over this many queues. */
  eventsShards?: number;
  /** How long a request may wait for Redis before it is answered 503. */
  timeoutMs: number;
  maxItemsPerJob: number;
  maxBytesPerJob: number;
  /** Beyond this many bytes waiting for Redis, new requests are refused at once (backpressure). */
  maxPendingBytes: number;
  /** Replicas that must have each job (WAIT) before its requests are answered; 0 or unset: none. */
  ackReplicas?: number;
}

/** Anything that takes a queue's items: its producer, or a fake (benchmarks, tests). Resolves to the label of the queue (shard) that holds them, when it knows. */
export interface Enqueuer<T> {
  enqueue(request: EnqueueRequest<T>): Promise<string | void>;
}

/** One enqueuer per queue of the job registry, under the queue's key: what the gateway writes to. */
export type Enqueuers = { readonly [K in QueueKey]: Enqueuer<ItemOf<K>> };

/** One producer per queue of the job registry, under the queue's key: `producers.internalBatch`. */
export type ProducerMap = { readonly [K in QueueKey]: CoalescingProducer<ItemOf<K>> };

/**
 * The gateway's producers, one per queue of the job registry (QUEUES: name, items key), sharing
 * one Redis connection and one backlog bound. A job is `{ [itemsKey]: items, rejected }`. A
 * sharded queue's producer writes each job to its next shard (queueShards).
 */
class Producers {
  private readonly redis: Redis;
  private readonly layout: QueueLayout;
  private readonly queues: Queue[] = [];
  private readonly all: Array<CoalescingProducer<unknown>> = [];

  constructor(options: ProducersOptions) {
    this.redis = createRedis(options.redisUrl, 'producer');
    this.layout = queueLayout(options.redisUrl, options.prefix, options.eventsShards);
    const backlog = new Backlog(options.maxPendingBytes);
    for (const key of QUEUE_KEYS) {
      const targets = queueShards(this.layout, key).map((shard) => {
        const queue = new Queue(shard.name, { connection: this.redis, prefix: options.prefix, defaultJobOptions: DURABLE_JOB_OPTIONS });
        queue.on('error', () => undefined);
        this.queues.push(queue);
        return { queue, label: shard.label };
      });
      const producer = new CoalescingProducer<unknown>(targets, () => this.ready, backlog, {
        itemsKey: QUEUES[key].itemsKey,
        timeoutMs: options.timeoutMs,
        maxItemsPerJob: options.maxItemsPerJob,
        maxBytesPerJob: options.maxBytesPerJob,
        replicated: options.ackReplicas ? (deadline, queue) => this.replicated(options.ackReplicas as number, deadline, queue) : undefined,
      });
      this.all.push(producer);
      // The registry's keys become the fields ProducerMap declares.
      Object.defineProperty(this, key, { value: producer, enumerable: true });
    }
  }

  /** True while Redis is connected. */
  get ready(): boolean {
    return isRedisReady(this.redis);
  }

  /** Resolves once Redis is connected, or after `timeoutMs` (callers then meet a 503 on enqueue). */
  async waitUntilReady(timeoutMs = 5000): Promise<void> {
    if (this.ready) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.redis.off('ready', done).off('end', done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      // 'end': the connection was closed and will not come back.
      this.redis.on('ready', done).on('end', done);
    });
  }

  /**
   * Resolves once `replicas` replicas have every write this connection made so far (Redis WAIT,
   * which counts per connection: the producers share this one), by `deadline` (epoch ms);
   * otherwise rejects with a 503: a job the primary alone holds is lost if it fails over now.
   * Under Cluster the WAIT goes to the primary of the job's queue's slot, over the pool's
   * connection to it that carried the write: WAIT counts that primary's replicas only.
   */
  private async replicated(replicas: number, deadline: number, queue: Queue): Promise<void> {
    const primary = primaryNodeFor(this.redis, queueKey(this.layout, queue, 'id'));
    if (primary === undefined) throw new ServiceUnavailableError('queue not replicated (its primary is unknown)');
    const acknowledged = await primary.wait(replicas, Math.max(1, deadline - Date.now()));
    if (acknowledged < replicas) throw new ServiceUnavailableError(`queue not replicated (${acknowledged} of ${replicas} replicas in time)`);
  }

  /** The connection, for other Redis users of the gateway (rate limits). */
  get connection(): Redis {
    return this.redis;
  }

  /** Round trip to Redis (to every primary of a Cluster: each holds some queues), bounded by `timeoutMs`. */
  async ping(timeoutMs = 1000): Promise<void> {
    if (!this.ready) throw new ServiceUnavailableError('queue unreachable');
    await withTimeout(Promise.all(primaryNodes(this.redis).map((node) => node.ping())), timeoutMs, 'queue too slow');
  }

  /** Refuses new requests, waits for those already accepted to be written, then disconnects. */
  async close(): Promise<void> {
    await Promise.all(this.all.map((producer) => producer.drain()));
    await Promise.all(this.queues.map((queue) => queue.close().catch(() => undefined)));
    this.redis.disconnect();
  }
}

export type QueueProducers = Producers & ProducerMap;
export const QueueProducers = Producers as new (options: ProducersOptions) => QueueProducers;
