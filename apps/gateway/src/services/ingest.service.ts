import { randomUUID } from 'node:crypto';
import { InvalidRequestError, RateLimitedError, ServiceUnavailableError } from '@evt/errors';
import type { SourceConfig } from '@evt/db';
import { applyAnonymousIdHeader, enrichEvent, isPlainObject, stableId, type Dictionary, type RequestContext } from '@evt/ingest';
import type { Logger } from '@evt/logging';
import type { EnqueueRequest } from '@evt/queue';
import { eventRejectionReason, isEventType, unstorableValueReason, EVENT_TYPES, type AudienceListItem, type EnrichedEvent, type QueuedEvent, type RejectedEvent, type RetlItem } from '@evt/schemas';

interface Producer<T> {
  enqueue(request: EnqueueRequest<T>): Promise<void>;
}

/** The queues the gateway writes to (QueueProducers in production). */
export interface Producers {
  events: Producer<QueuedEvent>;
  replay: Producer<QueuedEvent>;
  extract: Producer<QueuedEvent>;
  internalBatch: Producer<QueuedEvent>;
  retl: Producer<RetlItem>;
  audiencelist: Producer<AudienceListItem>;
}

/** Queues whose jobs hold events bound for the `events` table. */
export type EventQueue = 'events' | 'replay' | 'extract' | 'internalBatch';

export interface Limiter {
  take(sourceId: string, events: number, limit: { events: number; windowSeconds: number }): Promise<{ allowed: boolean; retryAfterSeconds: number }>;
}

/** What a route hands over once it has authenticated the source and parsed the body. */
export interface Submission {
  source: SourceConfig;
  /** The events, each as sent. */
  events: unknown[];
  /** The single-event routes force the type; undefined lets each batch event say its own. */
  type?: string;
  /** Rules for events that are not of the public API's types (webhook, extract, internal batch). */
  validate?: (event: unknown) => string | undefined;
  /** The queue; `events` unless the internal API says otherwise. Rate limits apply to `events` only. */
  queue?: EventQueue;
  /** Replayed events are stored under the replay source's original source. */
  storeAs?: SourceConfig;
  /** False for pre-enriched internal batches: their events are stored exactly as they came. */
  enrich?: boolean;
  /** The event inside a valid element (internal batches wrap it as `{properties, payload}`). */
  unwrap?: (element: unknown) => unknown;
  request: RequestContext;
  /** Bytes of the (inflated) body. */
  bytes: number;
}

/** What the ingest reports (GatewayMetrics). */
export interface IngestMetrics {
  accepted(count: number): void;
  rejected(reasons: string[]): void;
  enqueued(seconds: number): void;
}

/**
 * The gateway's core: validates each event, enriches the valid ones, sets the invalid ones aside
 * as rejected events, applies the source's rate limit and enqueues. Resolves once Redis holds
 * the job; throws the error the client must see otherwise.
 */
export class IngestService {
  constructor(
    private readonly producers: Producers,
    private readonly limiter: Limiter | undefined,
    private readonly maxEventSize: number,
    private readonly logger: Logger,
    private readonly metrics?: IngestMetrics,
  ) {}

  async submit(submission: Submission): Promise<void> {
    const { source, request } = submission;
    if (submission.events.length === 0) {
      throw new InvalidRequestError('batch is empty');
    }
    // Only a body larger than the event limit can hold an event larger than it: skip the measuring otherwise.
    const measure = submission.bytes > this.maxEventSize;
    const context = submission.type !== undefined ? { ...request, type: submission.type } : request;
    const target = submission.storeAs ?? source;
    const queue = submission.queue ?? 'events';
    // What enrichment merges into every event of a batch must be storable too; checked once.
    const shared = sharedValueReason(request);
    const accepted: QueuedEvent[] = [];
    const rejected: RejectedEvent[] = [];
    for (const raw of submission.events) {
      // Before validation: the header is what identifies many browser events.
      if (isPlainObject(raw)) applyAnonymousIdHeader(raw, request.anonymousIdHeader);
      const size = measure ? Buffer.byteLength(JSON.stringify(raw) ?? '') : 0;
      // Schema first (it names the id field and its bound), then every value as Postgres must keep it,
      // before anything is changed: an id is refused as sent, never cleaned into another one.
      const reason = size > this.maxEventSize ? `event is larger than ${this.maxEventSize} bytes` : (this.reasonToReject(raw, submission) ?? unstorableValueReason(raw) ?? shared);
      if (reason !== undefined) {
        rejected.push(this.rejection(source, reason, raw, size, request.receivedAt, submission.unwrap));
        continue;
      }
      const inner = submission.unwrap ? submission.unwrap(raw) : raw;
      const event = submission.enrich === false ? (inner as EnrichedEvent) : enrichEvent(inner as Dictionary, context);
      accepted.push({ sourceId: target.id, workspaceId: target.workspaceId, event });
    }

    if (accepted.length === 0) {
      await this.recordRejections(rejected, submission.bytes);
      throw new InvalidRequestError(rejected[0].reason);
    }
    if (queue === 'events' && source.rateLimit && this.limiter) {
      const decision = await this.limiter.take(source.id, accepted.length, source.rateLimit).catch((error: unknown) => {
        throw new ServiceUnavailableError('rate limiter unreachable', { cause: error });
      });
      if (!decision.allowed) throw new RateLimitedError(decision.retryAfterSeconds);
    }
    const started = performance.now();
    await this.producers[queue].enqueue({ items: accepted, rejected, bytes: submission.bytes });
    if (this.metrics) {
      this.metrics.enqueued((performance.now() - started) / 1000);
      this.metrics.accepted(accepted.length);
      if (rejected.length > 0) this.metrics.rejected(rejected.map((r) => r.reason));
    }
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

  /** A rejected-event record; the event itself is kept unless it is too large. `unwrap` finds the event in a wrapper. */
  rejection(source: SourceConfig, reason: string, raw: unknown, size: number, receivedAt: string, unwrap?: (element: unknown) => unknown): RejectedEvent {
    const inner = unwrap && isPlainObject(raw) ? unwrap(raw) : raw;
    const messageId = isPlainObject(inner) && typeof inner.messageId === 'string' ? inner.messageId : undefined;
    const tooLarge = size > this.maxEventSize;
    // UTF-8 would turn any unpaired surrogate into U+FFFD, making "\ud800" and "\udfff" one record: hash the escaped form.
    const messageKey = messageId === undefined || messageId.isWellFormed() ? messageId : JSON.stringify(messageId);
    return {
      // The same event refused again for the same reason (a client retry) is the same record.
      id: messageKey !== undefined ? stableId([source.id, messageKey, reason]) : randomUUID(),
      sourceId: source.id,
      workspaceId: source.workspaceId,
      reason,
      ...(messageId !== undefined ? { messageId } : {}),
      ...(tooLarge || raw === undefined ? { eventSize: size } : { event: withoutWriteKey(raw) }),
      receivedAt,
    };
  }

  private reasonToReject(raw: unknown, submission: Submission): string | undefined {
    if (submission.validate) return submission.validate(raw);
    const type = submission.type ?? (isPlainObject(raw) ? raw.type : undefined);
    if (!isEventType(type)) {
      return isPlainObject(raw) ? `type must be one of ${EVENT_TYPES.join(', ')}` : 'event must be an object';
    }
    return eventRejectionReason(type, raw);
  }
}

/** Why what a batch adds to each of its events (context, integrations, sentAt) cannot be stored, or undefined. */
function sharedValueReason(request: RequestContext): string | undefined {
  return (
    unstorableValueReason(request.batchContext, 'context') ??
    unstorableValueReason(request.batchIntegrations, 'integrations') ??
    (typeof request.sentAt === 'string' ? unstorableValueReason(request.sentAt, 'sentAt') : undefined)
  );
}

/** A copy without Segment's body `writeKey`: a secret never goes into storage. */
function withoutWriteKey(raw: unknown): unknown {
  if (!isPlainObject(raw) || !('writeKey' in raw)) return raw;
  const { writeKey: _writeKey, ...rest } = raw;
  return rest;
}
