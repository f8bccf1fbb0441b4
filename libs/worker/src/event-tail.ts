import type { EventRow } from '@evt/db';
import type { EventTailPublisher, TailEvent } from '@evt/queue';

/** A stored event as `evt events tail` shows it. */
export function toTailEvent(row: EventRow): TailEvent {
  return {
    sourceId: row.sourceId,
    workspaceId: row.workspaceId,
    type: row.type,
    messageId: row.messageId,
    event: row.event,
    name: row.name,
    userId: row.userId,
    anonymousId: row.anonymousId,
    receivedAt: row.receivedAt,
    payload: row.payload,
  };
}

/** The `onStored` of a processor of events: publishes the rows for the tail, without waiting, if anyone listens (they are worked out only then). */
export function tailStored(publisher: EventTailPublisher): (stored: () => EventRow[]) => void {
  return (stored) => void publisher.publish(() => stored().map(toTailEvent));
}
