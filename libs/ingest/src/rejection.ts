import { randomUUID } from 'node:crypto';
import type { RejectedEvent } from '@evt/schemas';
import { stableId } from './identity';
import { isPlainObject } from './objects';

/** Whose events these are: a source, by its id and its workspace's. */
export interface EventOwner {
  id: string;
  workspaceId: string;
}

/** What is known of a refused event (or body) when its rejected-event record is made. */
export interface Refusal {
  owner: EventOwner;
  reason: string;
  /** The event as sent; undefined when the body could not be read (only its size is kept). */
  event: unknown;
  /** Its size in bytes (0 when not measured). */
  size: number;
  receivedAt: string;
  /** Events larger than this keep only their size. */
  maxEventSize: number;
  /** Where the messageId is when the event is wrapped (a pre-enriched item's `payload`); else the event. */
  inner?: unknown;
}

/** A rejected-event record; the event itself is kept unless it is too large. */
export function rejectedEvent(refusal: Refusal): RejectedEvent {
  const { owner, reason, event: raw, size } = refusal;
  const inner = 'inner' in refusal ? refusal.inner : raw;
  const messageId = isPlainObject(inner) && typeof inner.messageId === 'string' ? inner.messageId : undefined;
  const tooLarge = size > refusal.maxEventSize;
  // UTF-8 would turn any unpaired surrogate into U+FFFD, making "\ud800" and "\udfff" one record: hash the escaped form.
  const messageKey = messageId === undefined || messageId.isWellFormed() ? messageId : JSON.stringify(messageId);
  return {
    // The same event refused again for the same reason (a client retry) is the same record.
    id: messageKey !== undefined ? stableId([owner.id, messageKey, reason]) : randomUUID(),
    sourceId: owner.id,
    workspaceId: owner.workspaceId,
    reason,
    ...(messageId !== undefined ? { messageId } : {}),
    ...(tooLarge || raw === undefined ? { eventSize: size } : { event: withoutWriteKey(raw) }),
    receivedAt: refusal.receivedAt,
  };
}

/** A copy without Segment's body `writeKey`: a secret never goes into storage. */
function withoutWriteKey(raw: unknown): unknown {
  if (!isPlainObject(raw) || !('writeKey' in raw)) return raw;
  const { writeKey: _writeKey, ...rest } = raw;
  return rest;
}
