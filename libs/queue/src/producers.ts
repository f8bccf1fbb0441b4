import { Queue } from 'bullmq';
import { ServiceUnavailableError } from '@evt/errors';
import { QUEUE_NAMES, type AudienceListItem, type QueuedEvent, type RetlItem } from '@evt/schemas';
import { Backlog, CoalescingProducer } from './coalescing-producer';
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
}

/**
 * The gateway's producers, one per queue, sharing one Redis connection and one backlog bound.
 * Queues of events (`events`, `replay`, `extract`, `internal-batch`) carry `{events, rejected}`;
 * `retl` carries `{records, rejected}`, `audiencelist` `{lists, rejected}`.
 */
export class QueueProducers {
  readonly events: CoalescingProducer<QueuedEvent>;
  readonly replay: CoalescingProducer<QueuedEvent>;
  readonly extract: CoalescingProducer<QueuedEvent>;
  readonly internalBatch: CoalescingProducer<QueuedEvent>;
  readonly retl: CoalescingProducer<RetlItem>;
  readonly audiencelist: CoalescingProducer<AudienceListItem>;
  private readonly redis: Redis;
  private readonly queues: Queue[] = [];

  constructor(options: ProducersOptions) {
    this.redis = createRedis(options.redisUrl, 'producer');
    const backlog = new Backlog(options.maxPendingBytes);
    const make = <T>(name: string, itemsKey: string) => {
      const queue = new Queue(name, { connection: this.redis, prefix: options.prefix, defaultJobOptions: DURABLE_JOB_OPTIONS });
      queue.on('error', () => undefined);
      this.queues.push(queue);
      return new CoalescingProducer<T>(queue, () => this.ready, backlog, {
        itemsKey,
        timeoutMs: options.timeoutMs,
        maxItemsPerJob: options.maxItemsPerJob,
        maxBytesPerJob: options.maxBytesPerJob,
      });
    };
    this.events = make(QUEUE_NAMES.events, 'events');
    this.replay = make(QUEUE_NAMES.replay, 'events');
    this.extract = make(QUEUE_NAMES.extract, 'events');
    this.internalBatch = make(QUEUE_NAMES.internalBatch, 'events');
    this.retl = make(QUEUE_NAMES.retl, 'records');
    this.audiencelist = make(QUEUE_NAMES.audiencelist, 'lists');
  }

  /** True while Redis is connected. */
  get ready(): boolean {
    return isRedisReady(this.redis);
  }

  /** Resolves once Redis is connected, or after `timeoutMs` (callers then meet a 503 on enqueue). */
  async waitUntilReady(timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.ready && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  }

  /** The connection, for other Redis users of the gateway (rate limits). */
  get connection(): Redis {
    return this.redis;
  }

  /** Round trip to Redis, bounded by `timeoutMs`. */
  async ping(timeoutMs = 1000): Promise<void> {
    if (!this.ready) throw new ServiceUnavailableError('queue unreachable');
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.redis.ping(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new ServiceUnavailableError('queue too slow')), timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Refuses new requests, waits for those already accepted to be written, then disconnects. */
  async close(): Promise<void> {
    await Promise.all([this.events, this.replay, this.extract, this.internalBatch, this.retl, this.audiencelist].map((producer) => producer.drain()));
    await Promise.all(this.queues.map((queue) => queue.close().catch(() => undefined)));
    this.redis.disconnect();
  }
}
