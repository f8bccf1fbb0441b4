import type { TSchema } from '@sinclair/typebox';
import { Type } from '@sinclair/typebox';
import { AliasPayload, BatchPayload, GroupPayload, IdentifyPayload, PagePayload, ScreenPayload, TrackPayload } from './event.schema';
import { AudienceListPayload, ExtractPayload, InternalBatchItem, RetlBatchPayload, RetlRecordPayload } from './internal.schema';
import { EVENT_ROUTES, type EventRoute } from './routes';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const isNullType = (node: Json): boolean => typeof node === 'object' && node !== null && !Array.isArray(node) && node.type === 'null';

/** TypeBox emits JSON Schema; OpenAPI 3.0 wants `enum` instead of `const`, `nullable` instead of a null type, and has no `$id`. */
function toOpenApiSchema(schema: TSchema): Json {
  const convert = (node: Json): Json => {
    if (Array.isArray(node)) return node.map(convert);
    if (node === null || typeof node !== 'object') return node;
    const out: { [key: string]: Json } = {};
    for (const [key, value] of Object.entries(node)) {
      if (key === '$id') continue;
      if (key === 'const') out.enum = [value];
      else if (key === 'anyOf' && Array.isArray(value) && value.some(isNullType)) {
        const members = value.filter((member) => !isNullType(member)).map(convert);
        // `nullable` only counts beside a `type`: a single remaining member is inlined.
        if (members.length === 1 && typeof members[0] === 'object' && members[0] !== null && !Array.isArray(members[0])) Object.assign(out, members[0]);
        else out.anyOf = members;
        out.nullable = true;
      } else out[key] = convert(value);
    }
    return out;
  };
  return convert(JSON.parse(JSON.stringify(schema)) as Json);
}

const text = (description: string, example: string) => ({
  description,
  content: { 'text/plain; charset=utf-8': { schema: { type: 'string' }, example } },
});

const ANSWERS = {
  '200': text('StatusOK', 'OK'),
  '400': text('StatusBadRequest', 'Invalid request: userId or anonymousId is required'),
  '401': text('StatusUnauthorized', 'Invalid Authorization Header'),
  '404': text('StatusNotFound', 'Source is disabled'),
  '413': text('StatusRequestEntityTooLarge', 'Request size too large'),
  '429': text('StatusTooManyRequests', 'Too many requests'),
  '503': text('StatusServiceUnavailable: retry after the Retry-After header’s seconds', 'Service unavailable'),
};

const writeKeyAuth = [{ writeKeyAuth: [] }];
const sourceIDAuth = [{ sourceIDAuth: [] }];

// The internal API answers as the public one; its batch route adds no 429 (internal calls are not rate limited).
const { '429': _rateLimited, ...INTERNAL_BATCH_ANSWERS } = ANSWERS;

function internalOperation(operationId: string, summary: string, description: string, schemaName: string, security: unknown[], responses: object = ANSWERS) {
  return {
    post: {
      tags: ['Internal API'],
      summary,
      description: `${description} With INTERNAL_API_TOKEN set, the token is also required (Basic password or X-Internal-Token); INTERNAL_API_ENABLED=false turns the route off (404).`,
      operationId,
      requestBody: { required: true, content: { 'application/json': { schema: { $ref: `#/components/schemas/${schemaName}` } } } },
      responses,
      security,
    },
  };
}

/** An event route's operation, from the route table (the beacon's write key is in the query). */
function eventOperation(route: EventRoute) {
  const operation = {
    tags: [route.tag],
    summary: route.summary,
    description: route.description,
    operationId: route.operationId,
    requestBody: { required: true, content: { 'application/json': { schema: { $ref: `#/components/schemas/${route.schema}` } } } },
    responses: ANSWERS,
    security: writeKeyAuth as unknown[],
  };
  if (route.writeKeyIn === 'header') return { post: operation };
  return { post: { ...operation, parameters: [{ name: 'writeKey', in: 'query', required: true, schema: { type: 'string' } }], security: [] } };
}

/** The OpenAPI 3 description of the gateway, generated from the same schemas the gateway validates with. */
export function buildOpenApiDocument(version: string): Record<string, unknown> {
  const paths: Record<string, unknown> = {};
  for (const route of EVENT_ROUTES) paths[route.path] = eventOperation(route);
  for (const kind of ['track', 'page']) {
    paths[`/pixel/v1/${kind}`] = {
      get: {
        tags: ['Pixel'],
        summary: `Pixel ${kind}`,
        description: `Builds a ${kind} event from the query (anonymousId, userId, event, name; dotted keys such as properties.plan set nested fields; other keys become properties). Always answers a 1×1 GIF.`,
        operationId: `Pixel${kind[0].toUpperCase()}${kind.slice(1)}`,
        parameters: [{ name: 'writeKey', in: 'query', required: true, schema: { type: 'string' } }],
        responses: { '200': { description: 'A transparent 1×1 GIF', content: { 'image/gif': { schema: { type: 'string', format: 'binary' } } } } },
        security: [],
      },
    };
  }
  const json = (description: string, schema: object) => ({ description, content: { 'application/json': { schema } } });
  const taken = (operationId: string, summary: string) => ({ post: { tags: ['Browser SDK settings'], summary, operationId, responses: { '200': text('Taken, not kept', 'OK') }, security: [] } });
  const sourceConfig = {
    type: 'object',
    required: ['isHosted', 'source'],
    properties: {
      isHosted: { type: 'boolean', enum: [false] },
      source: {
        type: 'object',
        required: ['id', 'name', 'writeKey', 'workspaceId', 'enabled', 'config', 'destinations'],
        properties: {
          id: { type: 'string' },
          name: { type: 'string' },
          writeKey: { type: 'string' },
          workspaceId: { type: 'string' },
          enabled: { type: 'boolean', description: 'false for a disabled source: the SDK then sends nothing.' },
          config: { type: 'object' },
          destinations: { type: 'array', items: { type: 'object' }, maxItems: 0, description: 'Always empty: no device-mode destinations.' },
        },
      },
    },
  };
  const sourceConfigGet = {
    get: {
      tags: ['Browser SDK settings'],
      summary: 'RudderStack source configuration',
      description:
        'What @rudderstack/analytics-js (v3) and rudder-sdk-js (v1.1) fetch from `configUrl` before sending: set `configUrl` to the gateway. The write key comes from Basic auth or the `writeKey` query parameter; other parameters are ignored. Served from memory.',
      operationId: 'SourceConfig',
      parameters: [{ name: 'writeKey', in: 'query', required: false, schema: { type: 'string' } }],
      responses: { '200': json('The source, enabled or not', sourceConfig), '401': ANSWERS['401'], '503': ANSWERS['503'] },
      security: [...writeKeyAuth, {}],
    },
  };
  paths['/sourceConfig'] = sourceConfigGet;
  paths['/sourceConfig/'] = { get: { ...sourceConfigGet.get, operationId: 'SourceConfigSlash', summary: 'RudderStack source configuration (the path the SDKs use)' } };
  paths['/rsaMetrics'] = taken('RsaMetrics', 'RudderStack SDK metrics (v3 with stats collection on)');
  paths['/v1/projects/{writeKey}/settings'] = {
    get: {
      tags: ['Browser SDK settings'],
      summary: 'Segment analytics.js settings',
      description:
        'What @segment/analytics-next fetches from `cdnURL` at load: set `cdnURL` to the gateway. The `Segment.io` integration points `apiHost` and `protocol` at PUBLIC_URL, or at the address the request came to (X-Forwarded-Proto/Host under TRUST_PROXY). Client metrics are off and there are no remote plugins.',
      operationId: 'SegmentSettings',
      parameters: [{ name: 'writeKey', in: 'path', required: true, schema: { type: 'string' } }],
      responses: {
        '200': json('Settings for analytics-next', { type: 'object', required: ['integrations'], properties: { integrations: { type: 'object' }, metrics: { type: 'object' }, remotePlugins: { type: 'array', items: {}, maxItems: 0 } } }),
        '400': text('StatusBadRequest', 'Invalid request: Host header is not a host name (or set PUBLIC_URL)'),
        '401': ANSWERS['401'],
        '404': ANSWERS['404'],
        '503': ANSWERS['503'],
      },
      security: [],
    },
  };
  paths['/v1/m'] = taken('SegmentMetrics', 'Segment client metrics (older settings left them on)');
  const webhook = (method: string) => ({
    tags: ['Webhook'],
    summary: `Webhook (${method.toUpperCase()})`,
    description: 'Stores any JSON or form body (or, for GET, the query) as a `webhook` event of a webhook source.',
    operationId: `Webhook${method === 'get' ? 'Get' : 'Post'}`,
    parameters: [{ name: 'writeKey', in: 'query', required: false, schema: { type: 'string' } }],
    responses: ANSWERS,
    security: [...writeKeyAuth, {}],
  });
  paths['/v1/webhook'] = { post: webhook('post'), get: webhook('get') };
  paths['/internal/v1/extract'] = internalOperation('Extract', 'Extract', 'One event from a cloud extract source, stored with type `extract`; it needs no user id.', 'ExtractPayload', writeKeyAuth);
  paths['/internal/v1/retl'] = internalOperation(
    'Retl',
    'Retl',
    'Reverse ETL records, upserted into retl_records by (source, destination, recordId) following each record’s action (insert, update, delete). An item without a recordId (absent or null) is keyed by its messageId; one without either is rejected with `recordId is required`. The source id may also come in X-Rudder-Source-Id; X-Rudder-Destination-Id names one of the source’s destinations (unknown: 400, disabled: 404).',
    'RetlBatchPayload',
    sourceIDAuth,
  );
  paths['/internal/v1/audiencelist'] = internalOperation(
    'AudienceList',
    'Audience List',
    'Members to add to and remove from an audience list (adds first, then removes). Exempt from MAX_REQUEST_SIZE.',
    'AudienceListPayload',
    writeKeyAuth,
  );
  paths['/internal/v1/replay'] = internalOperation(
    'Replay',
    'Replay',
    'Archived events of a replay source’s original source, stored under that source with their original receivedAt. Any other source: 401.',
    'BatchPayload',
    sourceIDAuth,
  );
  paths['/internal/v1/batch'] = internalOperation(
    'InternalBatch',
    'Batch',
    'Events already enriched upstream, stored as they came. Payloads without messageId, receivedAt, request_ip or rudderId are rejected with the reason.',
    'InternalBatchPayload',
    sourceIDAuth,
    INTERNAL_BATCH_ANSWERS,
  );
  const readiness = {
    type: 'object',
    required: ['status', 'redis', 'postgres', 'sourcesLoaded', 'stopping'],
    properties: {
      status: { type: 'string', enum: ['ok', 'unavailable'] },
      redis: { type: 'string', enum: ['up', 'down'] },
      postgres: { type: 'string', enum: ['up', 'down'], description: 'Reported only: events are queued while Postgres is down, so it never makes the gateway unready.' },
      sourcesLoaded: { type: 'boolean' },
      stopping: { type: 'boolean' },
    },
  };
  const readinessResponses = {
    '200': { description: 'Ready: Redis answers, sources are loaded, not stopping (Postgres may be down)', content: { 'application/json': { schema: readiness } } },
    '503': { description: 'Not ready: Redis is down, sources are not loaded yet, or the gateway is stopping (the body says which)', content: { 'application/json': { schema: readiness } } },
  };
  paths['/health/live'] = {
    get: {
      tags: ['Operations'],
      summary: 'Liveness: the process answers',
      description: 'For restarts (a liveness probe). Answers 200 whatever the state of Redis or Postgres.',
      operationId: 'HealthLive',
      responses: {
        '200': { description: 'The process answers', content: { 'application/json': { schema: { type: 'object', required: ['status'], properties: { status: { type: 'string', enum: ['ok'] } } } } } },
      },
    },
  };
  paths['/health/ready'] = {
    get: {
      tags: ['Operations'],
      summary: 'Readiness: the gateway can accept events',
      description: 'For load balancers and readiness probes.',
      operationId: 'HealthReady',
      responses: readinessResponses,
    },
  };
  paths['/health'] = {
    get: {
      tags: ['Operations'],
      summary: 'Health (same as /health/ready)',
      description: 'Kept for existing probes; it answers as /health/ready. It no longer fails while only Postgres is down.',
      operationId: 'Health',
      responses: readinessResponses,
    },
  };
  paths['/version'] = {
    get: { tags: ['Operations'], summary: 'Version', operationId: 'Version', responses: { '200': { description: 'Name and version', content: { 'application/json': { schema: { type: 'object' } } } } } },
  };
  paths['/metrics'] = {
    get: {
      tags: ['Operations'],
      summary: 'Metrics in Prometheus text format',
      description: 'With METRICS_TOKEN set, send it as `Authorization: Bearer <token>`.',
      operationId: 'Metrics',
      responses: {
        '200': { description: 'Prometheus text format 0.0.4', content: { 'text/plain': { schema: { type: 'string' } } } },
        '401': { description: 'Invalid metrics token', content: { 'text/plain': { schema: { type: 'string' } } } },
      },
    },
  };

  return {
    openapi: '3.0.3',
    info: {
      title: 'RudderStack-compatible HTTP API',
      version,
      description: 'Event gateway compatible with RudderStack and Segment SDKs. Every accepted event lands once in Postgres.',
    },
    servers: [{ url: '/' }],
    paths,
    components: {
      securitySchemes: {
        writeKeyAuth: { type: 'http', scheme: 'basic', description: 'Write Key Basic Authentication: the write key is the user name, the password is ignored.' },
        sourceIDAuth: { type: 'http', scheme: 'basic', description: 'SourceID Basic Authentication: the source id is the user name.' },
      },
      schemas: {
        IdentifyPayload: toOpenApiSchema(IdentifyPayload),
        TrackPayload: toOpenApiSchema(TrackPayload),
        PagePayload: toOpenApiSchema(PagePayload),
        ScreenPayload: toOpenApiSchema(ScreenPayload),
        GroupPayload: toOpenApiSchema(GroupPayload),
        AliasPayload: toOpenApiSchema(AliasPayload),
        BatchPayload: toOpenApiSchema(BatchPayload),
        ExtractPayload: toOpenApiSchema(ExtractPayload),
        AudienceListPayload: toOpenApiSchema(AudienceListPayload),
        RetlBatchPayload: toOpenApiSchema(RetlBatchPayload),
        RetlRecord: toOpenApiSchema(RetlRecordPayload),
        InternalBatchPayload: toOpenApiSchema(Type.Array(InternalBatchItem)),
      },
    },
  };
}
