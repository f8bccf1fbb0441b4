import { Type, type Static } from '@sinclair/typebox';
import { IdString } from './id.schema';

/**
 * The fields of an enriched event, declared once: the events queue's job schema and the internal
 * batch route's item payload are both built from them, so an item the route accepts never makes
 * its job malformed.
 */
export const enrichedEventFields = {
  type: Type.String({ minLength: 1 }),
  messageId: IdString({ minLength: 1 }),
  receivedAt: Type.String({ minLength: 1 }),
  rudderId: Type.String({ minLength: 1 }),
  request_ip: Type.Optional(Type.String()),
  // Enrichment stores numeric ids as strings; null means absent.
  userId: Type.Optional(Type.Union([IdString(), Type.Null()])),
  anonymousId: Type.Optional(Type.Union([IdString(), Type.Null()])),
  // Kept as the client sent them; the worker stores what it can read in typed columns.
  event: Type.Optional(Type.Unknown()),
  name: Type.Optional(Type.Unknown()),
  sentAt: Type.Optional(Type.Unknown()),
  originalTimestamp: Type.Optional(Type.Unknown()),
  timestamp: Type.Optional(Type.Unknown()),
};

/** An event after the gateway's enrichment: what the events worker stores in `events.payload`. */
export const EnrichedEvent = Type.Object(enrichedEventFields, { additionalProperties: true });
export type EnrichedEvent = Static<typeof EnrichedEvent>;
