import { InvalidRequestError, RateLimitedError, ServiceUnavailableError } from '@evt/errors';
import type { SourceConfig } from '@evt/db';
import { rejectedEvent, validateAndEnrich, type EventBatch } from '@evt/ingest';
import type { Logger } from '@evt/logging';
import type { Enqueuers } from '@evt/queue';
import { QUEUES, type QueuedEvent, type QueueKeyFor, type RejectedEvent } from '@evt/schemas';

/** The queues the gateway writes to: one per queue of the job registry (QueueProducers in production). */
export type Producers = Enqueuers;

/** Queues whose jobs hold events bound for the `events` table. */
export type EventQueue = QueueKeyFor<QueuedEvent>;

export interface Limiter {
  take(sourceId: string, events: number, limit: { events: number; windowSeconds: number }): Promise<{ allowed: boolean; retryAfterSeconds: number }>;
}

/** The events waiting in Redis, shared by every gateway (QueueBacklog); `full` is a synchronous read of its last value. */
export interface EventBacklog {
  readonly full: boolean;
  /** Counts events Redis now holds in the queue (shard) `label`. */
  added(events: number, label?: string): void;
}

// A full backlog drains at the workers' pace (tens of thousands of events a second): 2 s frees room
// for many requests, while a sooner retry would mostly find it still full and cost another parse.
const BACKLOG_RETRY_AFTER_SECONDS = 2;

/**
 * What a route hands over once it has authenticated the source and parsed the body: the events,
 * what they are (`kind`), and the queue they go to (`events` unless the internal API says
 * otherwise; rate limits apply to `events` only).
 */
export interface Submission extends EventBatch {
  source: SourceConfig;
  queue?: EventQueue;
}

/** What the ingest reports (GatewayMetrics). */
export interface IngestMetrics {
  accepted(count: number): void;
  rejected(reasons: string[]): void;
  enqueued(seconds: number): void;
  backlogFull(): void;
}

/**
 * The gateway's core: validateAndEnrich (libs/ingest: valid events enriched, invalid ones set
 * aside as rejected events), then the source's rate limit, then the queue. Resolves once Redis holds
 * the job; throws the error the client must see otherwise.
 */
export class IngestService {
  constructor(
    private readonly producers: Producers,
    private readonly limiter: Limiter | undefined,
    private readonly maxEventSize: number,
    private readonly logger: Logger,
    private readonly metrics?: IngestMetrics,
    private readonly backlog?: EventBacklog,
  ) {}

  async submit(submission: Submission): Promise<void> {
    const { source } = submission;
    if (submission.events.length === 0) throw new InvalidRequestError('batch is empty');
    const accepted: QueuedEvent[] = [];
    const rejected: RejectedEvent[] = [];
    validateAndEnrich(submission, this.maxEventSize, accepted, rejected);
    if (accepted.length === 0) {
      await this.recordRejections(rejected, submission.bytes);
      throw new InvalidRequestError(rejected[0].reason);
    }
    // Before the rate limit: a request refused here is retried, and must not be counted against it twice.
    if (this.backlog?.full) {
      this.metrics?.backlogFull();
      throw new ServiceUnavailableError('queue backlog full', { retryAfterSeconds: BACKLOG_RETRY_AFTER_SECONDS });
    }
    const queue = submission.queue ?? 'events';
    if (queue === 'events' && source.rateLimit && this.limiter) {
      const decision = await this.limiter.take(source.id, accepted.length, source.rateLimit).catch((error: unknown) => {
        throw new ServiceUnavailableError('rate limiter unreachable', { cause: error });
      });
      if (!decision.allowed) throw new RateLimitedError(decision.retryAfterSeconds);
    }
    return this.store(queue, accepted, rejected, submission.bytes);
  }

  /**
   * Hands the events to their queue's producer, which serializes them at once, and resolves once
   * Redis holds them. Not async on purpose: what waits for Redis (the returned promise) holds
   * their counts only, so the events themselves die young instead of being kept (and promoted,
   * then swept by full collections) for the length of a Redis round trip.
   */
  private store(queue: EventQueue, accepted: QueuedEvent[], rejected: RejectedEvent[], bytes: number): Promise<void> {
    const started = performance.now();
    const count = accepted.length;
    const reasons = rejected.length > 0 ? rejected.map((r) => r.reason) : undefined;
    return this.producers[queue].enqueue({ items: accepted, rejected, bytes }).then((label) => {
      this.backlog?.added(count, label || QUEUES[queue].name);
      if (this.metrics) {
        this.metrics.enqueued((performance.now() - started) / 1000);
        this.metrics.accepted(count);
        if (reasons) this.metrics.rejected(reasons);
      }
    });
  }

  /**
   * Keeps a trace of a request refused as a whole (it is answered 4xx either way, so a failure
   * here is logged, not answered).
   */
  async recordRejections(rejected: RejectedEvent[], bytes: number): Promise<void> {
    if (rejected.length === 0) return;
    await this.producers.events.enqueue({ items: [], rejected, bytes }).then(
      () => this.metrics?.rejected(rejected.map((r) => r.reason)),
      (error: unknown) => this.logger.warn({ err: (error as Error).message, count: rejected.length }, 'could not record rejected events'),
    );
  }

  /** A rejected-event record of `source`; the event itself is kept unless it is too large. */
  rejection(source: SourceConfig, reason: string, raw: unknown, size: number, receivedAt: string): RejectedEvent {
    return rejectedEvent({ owner: source, reason, event: raw, size, receivedAt, maxEventSize: this.maxEventSize });
  }
}
