import {
  eventRejectionReason,
  EVENT_TYPES,
  ExtractPayload,
  InternalBatchItem,
  isEventType,
  unstorableValueReason,
  Validator,
  type EnrichedEvent,
  type QueuedEvent,
  type RejectedEvent,
} from '@evt/schemas';
import { applyAnonymousIdHeader, enrichEvent, type RequestContext } from './enrich';
import { isPlainObject, type Dictionary } from './objects';
import { rejectedEvent, type EventOwner } from './rejection';

/**
 * What the events of a request are, which decides the rules they follow:
 * - `public`: the public API's events (identify, track…), by their type or the route's;
 * - `extract`: cloud extract events (ExtractPayload; no user id needed);
 * - `webhook`: an event the gateway built itself from a webhook call (nothing to check but storability);
 * - `enriched`: `{properties, payload}` items enriched upstream, whose payload is stored as it came.
 */
export type EventKind = 'public' | 'extract' | 'webhook' | 'enriched';

/** The events of one request, once its source is known and its body parsed. */
export interface EventBatch {
  /** The source the request authenticated as: rejected events are its own. */
  source: EventOwner;
  /** Where accepted events are stored, when not under `source` (a replay's original source). */
  storeAs?: EventOwner;
  /** The events, each as sent. */
  events: unknown[];
  /** `public` when left out. */
  kind?: EventKind;
  /** The request's context; its `type`, when set, is forced on every event. */
  request: RequestContext;
  /** Bytes of the (inflated) body. */
  bytes: number;
  /**
   * True when the body's text was found to hold nothing Postgres cannot keep (no `\u` escape, no
   * number that can overflow): the walk over every value is skipped. Left out, it runs.
   */
  storable?: boolean;
}

const extractValidator = new Validator(ExtractPayload);
const internalBatchValidator = new Validator(InternalBatchItem);

function reasonToReject(raw: unknown, kind: EventKind, forcedType: string | undefined): string | undefined {
  switch (kind) {
    case 'webhook':
      return undefined;
    case 'extract':
      return isPlainObject(raw) ? extractValidator.reason(raw) : 'event must be an object';
    case 'enriched':
      return internalBatchValidator.reason(raw);
    default: {
      const type = forcedType ?? (isPlainObject(raw) ? raw.type : undefined);
      if (!isEventType(type)) return isPlainObject(raw) ? `type must be one of ${EVENT_TYPES.join(', ')}` : 'event must be an object';
      return eventRejectionReason(type, raw);
    }
  }
}

/**
 * Sorts a request's events: each valid one, enriched (unless `enriched` already), goes to
 * `accepted`; each invalid one to `rejected`, with its reason. No I/O: the caller owns the events
 * (they are changed in place) and decides what to do with both lists.
 */
export function validateAndEnrich(batch: EventBatch, maxEventSize: number, accepted: QueuedEvent[], rejected: RejectedEvent[]): void {
  const { source, request } = batch;
  const kind = batch.kind ?? 'public';
  const target = batch.storeAs ?? source;
  // Only a body larger than the event limit can hold an event larger than it: skip the measuring otherwise.
  const measure = batch.bytes > maxEventSize;
  // What enrichment merges into every event of a batch must be storable too; checked once.
  const shared = sharedValueReason(request);
  for (const raw of batch.events) {
    // Before validation: the header is what identifies many browser events.
    if (isPlainObject(raw)) applyAnonymousIdHeader(raw, request.anonymousIdHeader);
    const size = measure ? Buffer.byteLength(JSON.stringify(raw) ?? '') : 0;
    // Schema first (it names the id field and its bound), then every value as Postgres must keep it,
    // before anything is changed: an id is refused as sent, never cleaned into another one.
    const reason =
      size > maxEventSize
        ? `event is larger than ${maxEventSize} bytes`
        : (reasonToReject(raw, kind, request.type) ?? (batch.storable ? undefined : unstorableValueReason(raw)) ?? shared);
    if (reason !== undefined) {
      const refusal = { owner: source, reason, event: raw, size, receivedAt: request.receivedAt, maxEventSize };
      rejected.push(rejectedEvent(kind === 'enriched' && isPlainObject(raw) ? { ...refusal, inner: raw.payload } : refusal));
      continue;
    }
    const event = kind === 'enriched' ? ((raw as InternalBatchItem).payload as EnrichedEvent) : enrichEvent(raw as Dictionary, request);
    accepted.push({ sourceId: target.id, workspaceId: target.workspaceId, event });
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
