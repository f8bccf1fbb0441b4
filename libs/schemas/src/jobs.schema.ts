import { Type, type Static } from '@sinclair/typebox';
import { EnrichedEvent } from './enriched-event.schema';
import { AudienceListItem, RetlItem } from './internal.schema';

export const QueuedEvent = Type.Object({
  sourceId: Type.String({ minLength: 1 }),
  workspaceId: Type.String({ minLength: 1 }),
  event: EnrichedEvent,
});
export type QueuedEvent = Static<typeof QueuedEvent>;

/** Something a client sent that we did not accept, kept so that nothing disappears without a trace. */
export const RejectedEvent = Type.Object({
  /** Made by the gateway, so that a retried job stores the rejection once. */
  id: Type.String({ minLength: 1 }),
  sourceId: Type.Union([Type.String(), Type.Null()]),
  workspaceId: Type.Union([Type.String(), Type.Null()]),
  reason: Type.String(),
  messageId: Type.Optional(Type.String()),
  /** The event as sent; left out when it is larger than `MAX_EVENT_SIZE`, then only `eventSize` is kept. */
  event: Type.Optional(Type.Unknown()),
  eventSize: Type.Optional(Type.Integer({ minimum: 0 })),
  receivedAt: Type.String(),
});
export type RejectedEvent = Static<typeof RejectedEvent>;

/** The payload of one job of the `events` queue: the events of many requests, coalesced. */
export const EventsJob = Type.Object({
  events: Type.Array(QueuedEvent),
  rejected: Type.Array(RejectedEvent),
});
export type EventsJob = Static<typeof EventsJob>;

/** The `retl` queue's payload: records of many requests. */
export const RetlJob = Type.Object({ records: Type.Array(RetlItem), rejected: Type.Array(RejectedEvent) });
export type RetlJob = Static<typeof RetlJob>;

/** The `audiencelist` queue's payload. */
export const AudienceListJob = Type.Object({ lists: Type.Array(AudienceListItem), rejected: Type.Array(RejectedEvent) });
export type AudienceListJob = Static<typeof AudienceListJob>;

/** Queue names, one per kind of work (README, Scaling). */
export const QUEUE_NAMES = {
  events: 'events',
  replay: 'replay',
  retl: 'retl',
  audiencelist: 'audiencelist',
  extract: 'extract',
  internalBatch: 'internal-batch',
} as const;
export type QueueName = (typeof QUEUE_NAMES)[keyof typeof QUEUE_NAMES];
