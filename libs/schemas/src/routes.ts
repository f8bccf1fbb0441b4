/**
 * The public event routes (all POST), listed once: the gateway builds its handlers from this
 * table and the OpenAPI document its operations, so the two cannot drift apart.
 */
export interface EventRoute {
  path: string;
  /** `single`: the body is one event, of the route's `type`; `batch`: `{"batch": [...]}`. */
  kind: 'single' | 'batch';
  /** The type a single-event route forces on its event. */
  type?: 'identify' | 'track' | 'page' | 'screen' | 'group' | 'alias';
  /** Where the write key is read: Basic auth (else the body's `writeKey`), or also `?writeKey=` (sendBeacon cannot set headers). */
  writeKeyIn: 'header' | 'headerOrQuery';
  operationId: string;
  summary: string;
  description: string;
  /** The request body's schema, a name under `components.schemas`. */
  schema: string;
  tag: 'HTTP API' | 'Segment short paths';
}

const SINGLE_EVENTS = [
  { type: 'identify', short: 'i', id: 'Identify', text: 'Associates a user with their traits.' },
  { type: 'track', short: 't', id: 'Track', text: 'Records an action of a user with its properties.' },
  { type: 'page', short: 'p', id: 'Page', text: 'Records a page view.' },
  { type: 'screen', short: 's', id: 'Screen', text: 'Records a mobile screen view.' },
  { type: 'group', short: 'g', id: 'Group', text: 'Links a user to a group such as a company.' },
  { type: 'alias', short: 'a', id: 'Alias', text: 'Merges a previous identity into a userId.' },
] as const;

const BATCH_TEXT =
  'Sends many events (identify, track, page, screen, group, alias) in one request. Invalid events are set aside in `rejected_events`; the valid ones are accepted.';

// In the order the OpenAPI document lists them.
export const EVENT_ROUTES: readonly EventRoute[] = [
  ...SINGLE_EVENTS.map((route): EventRoute => ({
    path: `/v1/${route.type}`,
    kind: 'single',
    type: route.type,
    writeKeyIn: 'header',
    operationId: route.id,
    summary: route.id,
    description: `${route.text} The event's type is forced to \`${route.type}\`.`,
    schema: `${route.id}Payload`,
    tag: 'HTTP API',
  })),
  {
    path: '/v1/batch',
    kind: 'batch',
    writeKeyIn: 'header',
    operationId: 'Batch',
    summary: 'Batch',
    description: BATCH_TEXT,
    schema: 'BatchPayload',
    tag: 'HTTP API',
  },
  {
    path: '/v1/import',
    kind: 'batch',
    writeKeyIn: 'header',
    operationId: 'Import',
    summary: 'Import',
    description: 'Like batch, for historical loads.',
    schema: 'BatchPayload',
    tag: 'HTTP API',
  },
  ...SINGLE_EVENTS.map((route): EventRoute => ({
    path: `/v1/${route.short}`,
    kind: 'single',
    type: route.type,
    writeKeyIn: 'header',
    operationId: `${route.id}Short`,
    summary: `${route.id} (Segment short path)`,
    description: `Same as /v1/${route.type}.`,
    schema: `${route.id}Payload`,
    tag: 'Segment short paths',
  })),
  {
    path: '/v1/b',
    kind: 'batch',
    writeKeyIn: 'header',
    operationId: 'BatchShort',
    summary: 'Batch (Segment short path)',
    description: 'Same as /v1/batch.',
    schema: 'BatchPayload',
    tag: 'Segment short paths',
  },
  {
    path: '/beacon/v1/batch',
    kind: 'batch',
    writeKeyIn: 'headerOrQuery',
    operationId: 'Beacon',
    summary: 'Beacon batch',
    description: 'A batch sent with navigator.sendBeacon (text/plain); the write key is in the query.',
    schema: 'BatchPayload',
    tag: 'HTTP API',
  },
];
