import { Queue } from 'bullmq';
import { ServiceUnavailableError } from '@evt/errors';
import { QUEUE_NAMES, type EventsJob, type QueuedEvent, type RejectedEvent } from '@evt/schemas';
import { createRedis, isRedisReady, type Redis } from './connection';
import { DURABLE_JOB_OPTIONS } from './job-options';

export interface EventsProducerOptions {
  redisUrl: string;
  prefix: string;
  /** How long a request may wait for Redis before it is answered 503. */
  timeoutMs: number;
  /** A job carries at most this many events … */
  maxEventsPerJob: number;
  /** … and about this many bytes of request bodies. */
  maxBytesPerJob: number;
  /** Beyond this many bytes waiting for Redis, new requests are refused at once (backpressure). */
  maxPendingBytes: number;
  /** Jobs being written to Redis at the same time. */
  maxConcurrentWrites?: number;
}

export interface EnqueueRequest {
  events: QueuedEvent[];
  rejected: RejectedEvent[];
  /** Size of the request's body: what the job will roughly weigh. */
  bytes: number;
}

interface Pending extends EnqueueRequest {
  deadline: number;
  resolve: () => void;
  reject: (error: Error) => void;
}

/**
 * Coalesces the events of concurrent requests into few BullMQ jobs: while a job is being
 * written, new requests gather, and the next job carries them all. Each request's promise
 * resolves only once Redis has stored the job holding its events.
 */
export class EventsProducer {
  private readonly redis: Redis;
  private readonly queue: Queue;
  private readonly maxConcurrentWrites: number;
  private pending: Pending[] = [];
  private pendingBytes = 0;
  private writes = 0;
  private scheduled = false;
  private closing = false;

  constructor(private readonly options: EventsProducerOptions) {
    this.redis = createRedis(options.redisUrl, 'producer');
    this.queue = new Queue(QUEUE_NAMES.events, { connection: this.redis, prefix: options.prefix, defaultJobOptions: DURABLE_JOB_OPTIONS });
    this.queue.on('error', () => undefined);
    this.maxConcurrentWrites = options.maxConcurrentWrites ?? 4;
  }

  /** True while Redis is connected. */
  get ready(): boolean {
    return isRedisReady(this.redis);
  }

  /** Resolves once the events are stored in Redis; rejects with ServiceUnavailableError otherwise. */
  enqueue(request: EnqueueRequest): Promise<void> {
    if (this.closing) return Promise.reject(new ServiceUnavailableError('shutting down'));
    if (!this.ready) return Promise.reject(new ServiceUnavailableError('queue unreachable'));
    if (this.pendingBytes + request.bytes > this.options.maxPendingBytes) {
      return Promise.reject(new ServiceUnavailableError('queue backlog full'));
    }
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ ...request, deadline: Date.now() + this.options.timeoutMs, resolve, reject });
      this.pendingBytes += request.bytes;
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.pending.length === 0 || this.writes >= this.maxConcurrentWrites) return;
    this.scheduled = true;
    // One macrotask later: every request parsed in this turn of the event loop joins the job.
    setImmediate(() => {
      this.scheduled = false;
      void this.writeNext();
    });
  }

  private take(): Pending[] {
    const taken: Pending[] = [];
    let events = 0;
    let bytes = 0;
    while (this.pending.length > 0) {
      const next = this.pending[0];
      const size = next.events.length + next.rejected.length;
      if (taken.length > 0 && (events + size > this.options.maxEventsPerJob || bytes + next.bytes > this.options.maxBytesPerJob)) break;
      this.pending.shift();
      taken.push(next);
      events += size;
      bytes += next.bytes;
    }
    return taken;
  }

  private async writeNext(): Promise<void> {
    const now = Date.now();
    const batch = this.take().filter((request) => {
      if (request.deadline > now && this.ready) return true;
      this.settle(request, new ServiceUnavailableError(this.ready ? 'queue too slow' : 'queue unreachable'));
      return false;
    });
    if (batch.length === 0) return this.schedule();

    this.writes++;
    this.schedule();
    const job: EventsJob = { events: [], rejected: [] };
    for (const request of batch) {
      for (const event of request.events) job.events.push(event);
      for (const rejected of request.rejected) job.rejected.push(rejected);
    }
    const deadline = Math.min(...batch.map((request) => request.deadline));
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.queue.add(QUEUE_NAMES.events, job),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new ServiceUnavailableError('queue too slow')), Math.max(1, deadline - Date.now()));
        }),
      ]);
      for (const request of batch) this.settle(request);
    } catch (error) {
      const failure = error instanceof ServiceUnavailableError ? error : new ServiceUnavailableError('queue write failed', { cause: error });
      for (const request of batch) this.settle(request, failure);
    } finally {
      clearTimeout(timer);
      this.writes--;
      this.schedule();
    }
  }

  private settle(request: Pending, error?: Error): void {
    this.pendingBytes -= request.bytes;
    if (error) request.reject(error);
    else request.resolve();
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
    this.closing = true;
    while (this.pending.length > 0 || this.writes > 0) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await this.queue.close().catch(() => undefined);
    this.redis.disconnect();
  }
}
