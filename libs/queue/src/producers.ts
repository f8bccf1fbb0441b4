import { Queue } from 'bullmq';
import { ServiceUnavailableError, withTimeout } from '@evt/errors';
import { QUEUE_KEYS, QUEUES, type ItemOf, type QueueKey } from '@evt/schemas';
import { Backlog, CoalescingProducer, type EnqueueRequest } from './coalescing-producer';
import { createRedis, isRedisReady, type Redis } from './connection';
import { DURABLE_JOB_OPTIONS } from './job-options';

export interface ProducersOptions {
  redisUrl: string;
  prefix: string;
  /** How long a request may wait for Redis before it is answered 503. */
  timeoutMs: number;
  maxItemsPerJob: number;
  maxBytesPerJob: number;
  /** Beyond this many bytes waiting for Redis, new requests are refused at once (backpressure). */
  maxPendingBytes: number;
  /** Replicas that must have each job (WAIT) before its requests are answered; 0 or unset: none. */
  ackReplicas?: number;
}

/** Anything that takes a queue's items: its producer, or a fake (benchmarks, tests). */
export interface Enqueuer<T> {
  enqueue(request: EnqueueRequest<T>): Promise<void>;
}

/** One enqueuer per queue of the job registry, under the queue's key: what the gateway writes to. */
export type Enqueuers = { readonly [K in QueueKey]: Enqueuer<ItemOf<K>> };

/** One producer per queue of the job registry, under the queue's key: `producers.internalBatch`. */
export type ProducerMap = { readonly [K in QueueKey]: CoalescingProducer<ItemOf<K>> };

/**
 * The gateway's producers, one per queue of the job registry (QUEUES: name, items key), sharing
 * one Redis connection and one backlog bound. A job is `{ [itemsKey]: items, rejected }`.
 */
class Producers {
  private readonly redis: Redis;
  private readonly queues: Queue[] = [];
  private readonly all: Array<CoalescingProducer<unknown>> = [];

  constructor(options: ProducersOptions) {
    this.redis = createRedis(options.redisUrl, 'producer');
    const backlog = new Backlog(options.maxPendingBytes);
    for (const key of QUEUE_KEYS) {
      const queue = new Queue(QUEUES[key].name, { connection: this.redis, prefix: options.prefix, defaultJobOptions: DURABLE_JOB_OPTIONS });
      queue.on('error', () => undefined);
      this.queues.push(queue);
      const producer = new CoalescingProducer<unknown>(queue, () => this.ready, backlog, {
        itemsKey: QUEUES[key].itemsKey,
        timeoutMs: options.timeoutMs,
        maxItemsPerJob: options.maxItemsPerJob,
        maxBytesPerJob: options.maxBytesPerJob,
        replicated: options.ackReplicas ? (deadline) => this.replicated(options.ackReplicas as number, deadline) : undefined,
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
   */
  private async replicated(replicas: number, deadline: number): Promise<void> {
    const acknowledged = await this.redis.wait(replicas, Math.max(1, deadline - Date.now()));
    if (acknowledged < replicas) throw new ServiceUnavailableError(`queue not replicated (${acknowledged} of ${replicas} replicas in time)`);
  }

  /** The connection, for other Redis users of the gateway (rate limits). */
  get connection(): Redis {
    return this.redis;
  }

  /** Round trip to Redis, bounded by `timeoutMs`. */
  async ping(timeoutMs = 1000): Promise<void> {
    if (!this.ready) throw new ServiceUnavailableError('queue unreachable');
    await withTimeout(this.redis.ping(), timeoutMs, 'queue too slow');
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
