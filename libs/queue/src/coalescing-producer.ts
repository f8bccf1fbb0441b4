import type { Queue } from 'bullmq';
import { ServiceUnavailableError, withTimeout } from '@evt/errors';
import type { RejectedEvent } from '@evt/schemas';
import { encodeJobData } from './job-data';

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
}

interface Pending<T> extends EnqueueRequest<T> {
  deadline: number;
  resolve: () => void;
  reject: (error: Error) => void;
}

/**
 * Coalesces the items of concurrent requests into few BullMQ jobs: while a job is being
 * written, new requests gather, and the next job carries them all. Each request's promise
 * resolves only once Redis has stored the job holding its items.
 */
export class CoalescingProducer<T> {
  private pending: Pending<T>[] = [];
  private writes = 0;
  private scheduled = false;
  private closing = false;
  /** drain()'s callers, called once nothing is pending or being written. */
  private idleWaiters: Array<() => void> = [];
  private readonly maxConcurrentWrites: number;

  constructor(
    private readonly queue: Queue,
    private readonly isReady: () => boolean,
    private readonly backlog: Backlog,
    private readonly options: CoalescingOptions,
  ) {
    this.maxConcurrentWrites = options.maxConcurrentWrites ?? 4;
  }

  /** Resolves once the items are stored in Redis; rejects with ServiceUnavailableError otherwise. */
  enqueue(request: EnqueueRequest<T>): Promise<void> {
    if (this.closing) return Promise.reject(new ServiceUnavailableError('shutting down'));
    if (!this.isReady()) return Promise.reject(new ServiceUnavailableError('queue unreachable'));
    if (this.backlog.bytes + request.bytes > this.backlog.maxBytes) {
      return Promise.reject(new ServiceUnavailableError('queue backlog full'));
    }
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ ...request, deadline: Date.now() + this.options.timeoutMs, resolve, reject });
      this.backlog.bytes += request.bytes;
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

  private take(): Pending<T>[] {
    const taken: Pending<T>[] = [];
    let items = 0;
    let bytes = 0;
    while (this.pending.length > 0) {
      const next = this.pending[0];
      const size = next.items.length + next.rejected.length;
      if (taken.length > 0 && (items + size > this.options.maxItemsPerJob || bytes + next.bytes > this.options.maxBytesPerJob)) break;
      this.pending.shift();
      taken.push(next);
      items += size;
      bytes += next.bytes;
    }
    return taken;
  }

  private async writeNext(): Promise<void> {
    const now = Date.now();
    const batch = this.take().filter((request) => {
      if (request.deadline > now && this.isReady()) return true;
      this.settle(request, new ServiceUnavailableError(this.isReady() ? 'queue too slow' : 'queue unreachable'));
      return false;
    });
    if (batch.length === 0) {
      this.schedule();
      return this.notifyIfIdle();
    }

    this.writes++;
    this.schedule();
    const items: T[] = [];
    const rejected: RejectedEvent[] = [];
    let deadline = Number.POSITIVE_INFINITY;
    let bytes = 0;
    for (const request of batch) {
      for (const item of request.items) items.push(item);
      for (const record of request.rejected) rejected.push(record);
      deadline = Math.min(deadline, request.deadline);
      bytes += request.bytes;
    }
    try {
      await withTimeout(
        encodeJobData({ [this.options.itemsKey]: items, rejected }, bytes).then((data) => this.queue.add(this.queue.name, data)),
        Math.max(1, deadline - Date.now()),
        'queue too slow',
      );
      for (const request of batch) this.settle(request);
    } catch (error) {
      const failure = error instanceof ServiceUnavailableError ? error : new ServiceUnavailableError('queue write failed', { cause: error });
      for (const request of batch) this.settle(request, failure);
    } finally {
      this.writes--;
      this.schedule();
      this.notifyIfIdle();
    }
  }

  private notifyIfIdle(): void {
    if (this.pending.length > 0 || this.writes > 0 || this.idleWaiters.length === 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  private settle(request: Pending<T>, error?: Error): void {
    this.backlog.bytes -= request.bytes;
    if (error) request.reject(error);
    else request.resolve();
  }

  /** Refuses new requests and waits until those already accepted are written (or timed out). */
  async drain(): Promise<void> {
    this.closing = true;
    if (this.pending.length === 0 && this.writes === 0) return;
    // Every request settles in writeNext, which ends by checking for idleness.
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }
}
