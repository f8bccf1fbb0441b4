import type { EnrichedEvent } from '@evt/schemas';
import { dropAbsentFields, withoutAbsentContextFields } from './absent';
import { cleanMessageId, idToString, rudderId } from './identity';
import { isPlainObject, mergeUnder, setPath, type Dictionary } from './objects';
import { correctTimestamp } from './timestamps';

/** What the gateway knows about the request an event came in. */
export interface RequestContext {
  /** Forced type (single-event routes); undefined keeps the event's own (batches). */
  type?: string;
  receivedAt: string;
  receivedAtMs: number;
  requestIp: string | undefined;
  /** The batch's `sentAt`, else the `SentAt` header of the browser SDK. */
  sentAt?: unknown;
  batchContext?: unknown;
  batchIntegrations?: unknown;
  /** The browser SDK's `AnonymousId` header, already decoded. */
  anonymousIdHeader?: string;
  /** Replayed events keep the receivedAt and request_ip they carry (when they carry usable ones). */
  keepOriginal?: boolean;
}

const ID_FIELDS = ['userId', 'anonymousId', 'groupId', 'previousId'] as const;

/** The browser SDK's AnonymousId header identifies an event that carries no anonymousId of its own. */
export function applyAnonymousIdHeader(event: Dictionary, header: string | undefined): void {
  if (header && idToString(event.anonymousId) === undefined) event.anonymousId = header;
}

/**
 * Adds what RudderStack's gateway adds to every event: messageId, receivedAt, request_ip,
 * rudderId and the clock-skew corrected timestamp. Known fields sent as null are dropped first:
 * null means absent. Changes and returns `event` (the gateway owns it).
 */
export function enrichEvent(event: Dictionary, request: RequestContext): EnrichedEvent {
  // Before the batch's context and integrations are merged under: an event's null must not hide them.
  dropAbsentFields(event);
  if (request.type !== undefined) event.type = request.type;
  for (const field of ID_FIELDS) {
    if (typeof event[field] === 'number') event[field] = String(event[field]);
  }
  applyAnonymousIdHeader(event, request.anonymousIdHeader);
  const userId = idToString(event.userId);
  const anonymousId = idToString(event.anonymousId);

  // Segment clients put the write key in the body: a secret never goes into storage.
  delete event.writeKey;
  event.messageId = cleanMessageId(event.messageId);
  // Replayed events keep their own receivedAt, when it is a time at all.
  const kept = request.keepOriginal && typeof event.receivedAt === 'string' ? Date.parse(event.receivedAt) : Number.NaN;
  const receivedAt = Number.isNaN(kept) ? request.receivedAt : (event.receivedAt as string);
  const receivedAtMs = Number.isNaN(kept) ? request.receivedAtMs : kept;
  event.receivedAt = receivedAt;
  const keepIp = request.keepOriginal && typeof event.request_ip === 'string' && event.request_ip !== '';
  if (request.requestIp !== undefined && !keepIp) event.request_ip = request.requestIp;

  if (isPlainObject(request.batchContext)) event.context = mergeUnder(withoutAbsentContextFields(request.batchContext), event.context);
  if (isPlainObject(request.batchIntegrations)) event.integrations = mergeUnder(request.batchIntegrations, event.integrations);

  const sentAt = event.sentAt ?? request.sentAt;
  const times = correctTimestamp({
    receivedAt,
    receivedAtMs,
    originalTimestamp: event.originalTimestamp,
    timestamp: event.timestamp,
    sentAt,
  });
  if (times.originalTimestamp !== undefined) event.originalTimestamp = times.originalTimestamp;
  if (typeof sentAt === 'string' && event.sentAt === undefined) event.sentAt = sentAt;
  event.timestamp = times.timestamp;

  event.rudderId = rudderId(userId, anonymousId);
  return event as EnrichedEvent;
}

/** Decodes the browser SDK's `AnonymousId` header (base64 of the id); undefined when unusable. */
export function decodeAnonymousIdHeader(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const decoded = Buffer.from(header, 'base64').toString('utf8').trim();
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is matched
  return decoded !== '' && !/[\u0000-\u001f\ufffd]/.test(decoded) ? decoded : undefined;
}

/** Builds a pixel event from its query string: known ids top level, dotted keys nested, the rest in properties. */
export function pixelEvent(query: Record<string, unknown>, type: 'track' | 'page'): Dictionary {
  const event: Dictionary = { type, properties: {}, context: {} };
  for (const [key, raw] of Object.entries(query)) {
    if (key === 'writeKey') continue;
    const value = Array.isArray(raw) ? raw[raw.length - 1] : raw;
    if (typeof value !== 'string') continue;
    if (['anonymousId', 'userId', 'messageId', 'event', 'name', 'originalTimestamp', 'sentAt', 'timestamp', 'category'].includes(key)) {
      event[key] = value;
    } else if (key.includes('.')) {
      setPath(event, key, value);
    } else {
      setPath(event, `properties.${key}`, value);
    }
  }
  return event;
}
