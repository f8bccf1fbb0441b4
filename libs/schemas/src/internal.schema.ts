import { Type, type Static } from '@sinclair/typebox';
import { enrichedEventFields } from './enriched-event.schema';
import { Context, Nullable } from './event.schema';
import { IdString, NullableId } from './id.schema';

const Dictionary = (description: string) => Type.Object({}, { additionalProperties: true, description });

/** `POST /internal/v1/extract`: one event from a cloud extract source; it needs no user id. Null means absent, as in the public API. */
export const ExtractPayload = Type.Object(
  {
    type: Nullable(Type.String({ description: 'Forced to `extract`.' })),
    messageId: Type.Optional(NullableId),
    userId: Type.Optional(NullableId),
    anonymousId: Type.Optional(NullableId),
    event: Nullable(Type.String()),
    properties: Nullable(Dictionary('The extracted record.')),
    context: Nullable(Context),
    timestamp: Nullable(Type.String({ format: 'date-time' })),
    originalTimestamp: Nullable(Type.String({ format: 'date-time' })),
    sentAt: Nullable(Type.String({ format: 'date-time' })),
  },
  { $id: 'ExtractPayload', additionalProperties: true },
);

const Member = Type.Object({}, { additionalProperties: true, description: 'A list member: its identifiers, e.g. {"EMAIL": "…"}.' });

/** `POST /internal/v1/audiencelist`: members to add to and remove from an audience list. */
export const AudienceListPayload = Type.Object(
  {
    type: Nullable(Type.String({ description: 'Forced to `audiencelist`.' })),
    messageId: Type.Optional(NullableId),
    userId: Type.Optional(NullableId),
    anonymousId: Type.Optional(NullableId),
    context: Nullable(Context),
    properties: Type.Object(
      {
        audienceId: Nullable(IdString({ minLength: 1, description: 'Which list; else properties.listId, else context.externalId[0].type, else "default".' })),
        listId: Nullable(IdString({ minLength: 1 })),
        listData: Type.Object({ add: Type.Optional(Type.Array(Member)), remove: Type.Optional(Type.Array(Member)) }, { additionalProperties: true }),
      },
      { additionalProperties: true },
    ),
  },
  { $id: 'AudienceListPayload', additionalProperties: true },
);
export type AudienceListPayload = Static<typeof AudienceListPayload>;

export const RETL_ACTIONS = ['insert', 'update', 'delete'] as const;
export type RetlAction = (typeof RETL_ACTIONS)[number];

/**
 * One record of `POST /internal/v1/retl`; `type: "record"` needs no user id. It is keyed by its
 * recordId, else by its messageId (as rudder-server takes records without one); with neither it is
 * rejected (`recordId is required`). Null means absent.
 */
export const RetlRecordPayload = Type.Object(
  {
    type: Type.Literal('record'),
    recordId: Type.Optional(
      Type.Union(NullableId.anyOf, {
        description:
          'The record’s key: a string, or a number stored as a string. Absent or null: its messageId is the key, and without one the record is rejected.',
      }),
    ),
    action: Type.Optional(
      Type.Union([...RETL_ACTIONS.map((action) => Type.Literal(action)), Type.Null()], { description: 'insert (default, also for null), update or delete' }),
    ),
    fields: Nullable(Dictionary('The record’s columns.')),
    messageId: Type.Optional(NullableId),
    context: Nullable(Context),
  },
  { $id: 'RetlRecord', additionalProperties: true },
);

export const RetlBatchPayload = Type.Object(
  { batch: Type.Array(Type.Object({}, { additionalProperties: true })) },
  { $id: 'RetlBatchPayload', additionalProperties: true },
);

/** One item of `POST /internal/v1/batch`: an event already enriched upstream, with its routing properties. */
export const InternalBatchItem = Type.Object(
  {
    properties: Dictionary('Routing properties set upstream (sourceID, workspaceID, …).'),
    // The job's own fields (EnrichedEvent), stricter where the route can tell more: receivedAt must be
    // a time, request_ip is required, and the ids the worker keys groups and aliases by are bounded.
    payload: Type.Object(
      {
        ...enrichedEventFields,
        receivedAt: Type.String({ format: 'date-time' }),
        request_ip: Type.String(),
        groupId: Type.Optional(NullableId),
        previousId: Type.Optional(NullableId),
      },
      { additionalProperties: true },
    ),
  },
  { $id: 'InternalBatchItem', additionalProperties: true },
);
export type InternalBatchItem = Static<typeof InternalBatchItem>;

/** A record of the `retl` queue, ready to upsert. `sequence` and `index` order the writes. */
export const RetlItem = Type.Object({
  sourceId: Type.String({ minLength: 1 }),
  workspaceId: Type.String({ minLength: 1 }),
  destinationId: IdString(),
  recordId: IdString({ minLength: 1 }),
  action: Type.Union(RETL_ACTIONS.map((action) => Type.Literal(action))),
  fields: Type.Object({}, { additionalProperties: true }),
  messageId: IdString({ minLength: 1 }),
  receivedAt: Type.String({ minLength: 1 }),
  sequence: Type.Integer({ minimum: 0 }),
  index: Type.Integer({ minimum: 0 }),
});
export type RetlItem = Static<typeof RetlItem>;

/**
 * Where a request's removes start in its write order (`audience_members.sequence_index`, a Postgres
 * integer): after every add, however the list was split into items.
 */
export const AUDIENCE_REMOVE_INDEX_BASE = 2 ** 30;

/**
 * A part of one audience-list request on the `audiencelist` queue (a large list is split into
 * several, under one sequence): adds, then removes. The write order of `add[i]` is
 * `addOffset + i`, of `remove[j]` AUDIENCE_REMOVE_INDEX_BASE + `removeOffset + j`.
 */
export const AudienceListItem = Type.Object({
  sourceId: Type.String({ minLength: 1 }),
  workspaceId: Type.String({ minLength: 1 }),
  audienceId: IdString({ minLength: 1 }),
  messageId: IdString({ minLength: 1 }),
  receivedAt: Type.String({ minLength: 1 }),
  sequence: Type.Integer({ minimum: 0 }),
  add: Type.Array(Type.Object({}, { additionalProperties: true })),
  remove: Type.Array(Type.Object({}, { additionalProperties: true })),
  addOffset: Type.Optional(Type.Integer({ minimum: 0, maximum: AUDIENCE_REMOVE_INDEX_BASE - 1 })),
  removeOffset: Type.Optional(Type.Integer({ minimum: 0, maximum: AUDIENCE_REMOVE_INDEX_BASE - 1 })),
});
export type AudienceListItem = Static<typeof AudienceListItem>;
