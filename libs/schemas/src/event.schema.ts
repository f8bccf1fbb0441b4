import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { Id, NullableId } from './id.schema';

const Dictionary = (description: string) => Type.Object({}, { additionalProperties: true, description });

/**
 * An optional field that may also be `null`, which means absent: SDKs send null for what they have
 * no value for (analytics-next's `userId`, a caller's `properties: null` passed through by the server
 * SDKs). Enrichment drops such nulls (`dropAbsentFields` in libs/ingest), so nothing stores them.
 */
export const Nullable = <T extends TSchema>(schema: T) => Type.Optional(Type.Union([schema, Type.Null()]));

const Library = Type.Object({ name: Nullable(Type.String({ description: 'Name of the library.' })) }, { additionalProperties: true });

export const Context = Type.Object(
  {
    ip: Nullable(Type.String({ description: 'IP address.' })),
    library: Nullable(Library),
    traits: Nullable(Dictionary('Traits of the user.')),
  },
  {
    additionalProperties: true,
    description: 'Dictionary of information that provides context about a message; null means absent, here and in its known fields.',
  },
);

const Time = (description?: string) => Type.String({ format: 'date-time', ...(description ? { description } : {}) });

/** Fields every event may carry, whatever its type; null means absent for each. Unknown fields are kept as sent. */
const common = {
  type: Nullable(Type.String({ description: 'Forced to the route’s type on single-event routes.' })),
  messageId: Type.Optional(NullableId),
  userId: Type.Optional(NullableId),
  anonymousId: Type.Optional(NullableId),
  context: Nullable(Context),
  integrations: Nullable(Dictionary('Destinations to enable or disable for this event.')),
  timestamp: Nullable(Time('When the event happened, by the client’s clock.')),
  originalTimestamp: Nullable(Time()),
  sentAt: Nullable(Time('When the client sent the event.')),
  channel: Nullable(Type.String()),
};

const object = <T extends Record<string, TSchema>>(id: string, properties: T, description: string) =>
  Type.Object({ ...common, ...properties }, { $id: id, additionalProperties: true, description });

export const IdentifyPayload = object('IdentifyPayload', { traits: Nullable(Dictionary('Traits of the user.')) }, 'Associates a user with their traits.');
export type IdentifyPayload = Static<typeof IdentifyPayload>;

export const TrackPayload = object(
  'TrackPayload',
  {
    event: Type.String({ minLength: 1, description: 'Name of the action the user performed.' }),
    properties: Nullable(Dictionary('Properties of the action.')),
  },
  'Records an action of a user.',
);
export type TrackPayload = Static<typeof TrackPayload>;

export const PagePayload = object(
  'PagePayload',
  {
    name: Nullable(Type.String({ description: 'Name of the page viewed.' })),
    category: Nullable(Type.String()),
    properties: Nullable(Dictionary('Properties of the page, such as url and referrer.')),
  },
  'Records a page view.',
);
export type PagePayload = Static<typeof PagePayload>;

export const ScreenPayload = object(
  'ScreenPayload',
  {
    name: Nullable(Type.String({ description: 'Name of the screen viewed.' })),
    category: Nullable(Type.String()),
    properties: Nullable(Dictionary('Properties of the screen.')),
  },
  'Records a mobile screen view.',
);
export type ScreenPayload = Static<typeof ScreenPayload>;

export const GroupPayload = object(
  'GroupPayload',
  { groupId: Id, traits: Nullable(Dictionary('Traits of the group, such as name or employees.')) },
  'Links a user to a group such as a company.',
);
export type GroupPayload = Static<typeof GroupPayload>;

export const AliasPayload = object('AliasPayload', { previousId: Id }, 'Merges a previous identity of a user into their current userId.');
export type AliasPayload = Static<typeof AliasPayload>;

/** Events arriving on the webhook route: the body as sent, wrapped by the gateway. */
export const WebhookPayload = Type.Object(
  { ...common, properties: Type.Optional(Dictionary('The webhook body as sent.')) },
  { $id: 'WebhookPayload', additionalProperties: true },
);

export const EVENT_TYPES = ['identify', 'track', 'page', 'screen', 'group', 'alias'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export const PayloadByType = {
  identify: IdentifyPayload,
  track: TrackPayload,
  page: PagePayload,
  screen: ScreenPayload,
  group: GroupPayload,
  alias: AliasPayload,
} as const satisfies Record<EventType, TSchema>;

export const AnyEventPayload = Type.Object(
  { ...common, type: Type.Union(EVENT_TYPES.map((t) => Type.Literal(t))) },
  { $id: 'BatchEvent', additionalProperties: true, description: 'One event of a batch; `type` says which payload it is.' },
);

export const BatchPayload = Type.Object(
  {
    batch: Type.Array(AnyEventPayload, { description: 'The events; each is checked on its own, invalid ones are set aside.' }),
    sentAt: Nullable(Time()),
    context: Nullable(Context),
    integrations: Nullable(Dictionary('Merged under each event’s own integrations.')),
    writeKey: Type.Optional(Type.String({ description: 'Segment clients send the write key here too.' })),
  },
  { $id: 'BatchPayload', additionalProperties: true },
);
export type BatchPayload = Static<typeof BatchPayload>;
