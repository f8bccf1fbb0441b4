import type { Queue } from 'bullmq';
import { ServiceUnavailableError, withTimeout } from '@evt/errors';
import type { RejectedEvent } from '@evt/schemas';
import { encodeJob, JobBuilder, type ItemsRange } from './job-data';

export interface EnqueueRequest<T> {
  items: T[];
  rejected: RejectedEvent[];
  /** Size of the request's body: what the job will roughly weigh. */
  bytes: number;
}

/** Bytes accepted but not yet stored in Redis, shared by every producer of a process. */
export class Backlog {
  bytes = 0;
  constructor(readonly maxBytes: number) {}
}

export interface CoalescingOptions {
  /** The job's field holding the items: `events`, `records`, `lists`. */
  itemsKey: string;
  /** How long a request may wait for Redis before it is answered 503. */
  timeoutMs: number;
  /** A job carries at most this many items … */
  maxItemsPerJob: number;
  /** … and about this many bytes of request bodies. */
  maxBytesPerJob: number;
  /** Jobs being written to Redis at the same time. */
  maxConcurrentWrites?: number;
  /** After a job is stored in `queue`: resolves once enough replicas have it, by the deadline (epoch ms) (REDIS_ACK_REPLICAS). */
  replicated?: (deadline: number, queue: Queue) => Promise<void>;
}

/** A request whose items are in a job not yet stored. */
interface Waiting {
  range: ItemsRange;
  bytes: number;
  deadline: number;
  resolve: (label: string) => void;
  reject: (error: Error) => void;
}

/** A BullMQ queue a producer writes to, and what the gateway calls it (a shard's label: `events-2`). */
export interface ProducerTarget {
  queue: Queue;
  label: string;
}

/** A job still taking requests, or waiting for its turn to be written. */
interface OpenJob {
  builder: JobBuilder;
  requests: Waiting[];
  bytes: number;
}

/**
 * Coalesces the items of concurrent requests into few BullMQ jobs: while a job is being
 * written, new requests gather, and the next job carries them all. Each request's items are
 * serialized into its job as it comes (JobBuilder); its promise resolves only once Redis has
 * stored that job.
 */
export class CoalescingProducer<T> {
  /** Oldest first; only the last one takes new requests. */
  private open: OpenJob[] = [];
  private writes = 0;
  private scheduled = false;
  private closing = false;
  /** drain()'s callers, called once nothing is pending or being written. */
  private idleWaiters: Array<() => void> = [];
  private readonly maxConcurrentWrites: number;
  private readonly targets: readonly ProducerTarget[];
  /** The target of the next job: jobs go round-robin over the shards. */
  private next = 0;

  /** `queues`: one queue, or the shards of a sharded one (each job goes to the next shard). */
  constructor(
    queues: Queue | readonly ProducerTarget[],
    private readonly isReady: () => boolean,
    private readonly backlog: Backlog,
    private readonly options: CoalescingOptions,
  ) {
    this.maxConcurrentWrites = options.maxConcurrentWrites ?? 4;
    this.targets = Array.isArray(queues) ? queues : [{ queue: queues as Queue, label: (queues as Queue).name }];
    if (this.targets.length === 0) throw new Error('a producer needs a queue');
  }

  /** Resolves once the items are stored in Redis, to the label of the queue (shard) that holds them; rejects with ServiceUnavailableError otherwise. */
  enqueue(request: EnqueueRequest<T>): Promise<string> {
    if (this.closing) return Promise.reject(new ServiceUnavailableError('shutting down'));
    if (!this.isReady()) return Promise.reject(new ServiceUnavailableError('queue unreachable'));
    if (this.backlog.bytes + request.bytes > this.backlog.maxBytes) {
      return Promise.reject(new ServiceUnavailableError('queue backlog full'));
    }
    const job = this.jobFor(request.items.length + request.rejected.length, request.bytes);
    const range = job.builder.add(request.items, request.rejected);
    job.bytes += request.bytes;
    this.backlog.bytes += request.bytes;
    return new Promise<string>((resolve, reject) => {
      job.requests.push({ range, bytes: request.bytes, deadline: Date.now() + this.options.timeoutMs, resolve, reject });
      this.schedule();
    });
  }

  /** The open job that can take `items` more items and `bytes` more bytes; a new one when the last is full. */
  private jobFor(items: number, bytes: number): OpenJob {
    const last = this.open[this.open.length - 1];
    if (
      last !== undefined &&
      (last.requests.length === 0 || (last.builder.count + items <= this.options.maxItemsPerJob && last.bytes + bytes <= this.options.maxBytesPerJob))
    ) {
      return last;
    }
    const job: OpenJob = { builder: new JobBuilder(this.options.itemsKey), requests: [], bytes: 0 };
    this.open.push(job);
    return job;
  }

  private schedule(): void {
    if (this.scheduled || this.open.length === 0 || this.writes >= this.maxConcurrentWrites) return;
    this.scheduled = true;
    // One macrotask later: every request parsed in this turn of the event loop joins the job.
    setImmediate(() => {
      this.scheduled = false;
      void this.writeNext();
    });
  }

  private async writeNext(): Promise<void> {
    const job = this.open.shift();
    if (job === undefined) return this.notifyIfIdle();
    const now = Date.now();
    const ready = this.isReady();
    const live = job.requests.filter((request) => {
      if (request.deadline > now && ready) return true;
      this.settle(request, new ServiceUnavailableError(ready ? 'queue too slow' : 'queue unreachable'));
      return false;
    });
    if (live.length === 0) {
      job.builder.release();
      this.schedule();
      return this.notifyIfIdle();
    }
    // Requests answered 503 above must not be stored: their clients will send them again.
    const builder = live.length === job.requests.length ? job.builder : job.builder.without(live.map((request) => request.range));

    this.writes++;
    this.schedule();
    let deadline = Number.POSITIVE_INFINITY;
    let bytes = 0;
    for (const request of live) {
      deadline = Math.min(deadline, request.deadline);
      bytes += request.bytes;
    }
    const target = this.targets[this.next];
    this.next = (this.next + 1) % this.targets.length;
    try {
      // The builder's buffer goes back to the pool only once compression has read it, even if the wait times out first.
      const encoded = encodeJob(builder.seal(), bytes).finally(() => builder.release());
      await withTimeout(
        encoded.then(async (data) => {
          await target.queue.add(target.queue.name, data);
          await this.options.replicated?.(deadline, target.queue);
        }),
        Math.max(1, deadline - Date.now()),
        'queue too slow',
      );
      for (const request of live) this.settle(request, undefined, target.label);
    } catch (error) {
      const failure = error instanceof ServiceUnavailableError ? error : new ServiceUnavailableError('queue write failed', { cause: error });
      for (const request of live) this.settle(request, failure);
    } finally {
      this.writes--;
      this.schedule();
      this.notifyIfIdle();
    }
  }

  private notifyIfIdle(): void {
    if (this.open.length > 0 || this.writes > 0 || this.idleWaiters.length === 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  private settle(request: Waiting, error?: Error, label = ''): void {
    this.backlog.bytes -= request.bytes;
    if (error) request.reject(error);
    else request.resolve(label);
  }

  /** Refuses new requests and waits until those already accepted are written (or timed out). */
  async drain(): Promise<void> {
    this.closing = true;
    if (this.open.length === 0 && this.writes === 0) return;
    // Every request settles in writeNext, which ends by checking for idleness.
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }
}
