import { ANSWERS, eventOperation, NODE_4XX, STOPPING_503, text, writeKeyAuth } from './openapi-answers';
import { EVENT_ROUTES } from './routes';

type Paths = Record<string, unknown>;

/** The public routes: events (from the route table), pixels, the browser SDKs' settings, webhooks. */
export function addPublicPaths(paths: Paths): void {
  for (const route of EVENT_ROUTES) paths[route.path] = eventOperation(route);
  for (const kind of ['track', 'page']) {
    paths[`/pixel/v1/${kind}`] = {
      get: {
        tags: ['Pixel'],
        summary: `Pixel ${kind}`,
        description: `Builds a ${kind} event from the query (anonymousId, userId, event, name; dotted keys such as properties.plan set nested fields; other keys become properties). Answers a 1×1 GIF whether the event was accepted or not (an <img> cannot read an error; a refused event is logged). Only a request refused before the route (a URL over 16 KiB: 431), or one arriving while the gateway stops (503), gets no GIF.`,
        operationId: `Pixel${kind[0].toUpperCase()}${kind.slice(1)}`,
        parameters: [{ name: 'writeKey', in: 'query', required: true, schema: { type: 'string' } }],
        responses: {
          '200': { description: 'A transparent 1×1 GIF', content: { 'image/gif': { schema: { type: 'string', format: 'binary' } } } },
          ...NODE_4XX,
          '503': STOPPING_503,
        },
        security: [],
      },
    };
  }
  const json = (description: string, schema: object) => ({ description, content: { 'application/json': { schema } } });
  const taken = (operationId: string, summary: string) => ({
    post: {
      tags: ['Browser SDK settings'],
      summary,
      operationId,
      responses: { '200': text('Taken, not kept (the body is not read)', 'OK'), ...NODE_4XX, '503': STOPPING_503 },
      security: [],
    },
  });
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
        'What @rudderstack/analytics-js (v3) and rudder-sdk-js (v1.1) fetch from `configUrl` before sending: set `configUrl` to the gateway. The SDKs request it as `/sourceConfig/`, which answers the same. The write key comes from Basic auth or the `writeKey` query parameter; other parameters are ignored. Served from memory.',
      operationId: 'SourceConfig',
      parameters: [{ name: 'writeKey', in: 'query', required: false, schema: { type: 'string' } }],
      responses: { '200': json('The source, enabled or not', sourceConfig), '401': ANSWERS['401'], '503': ANSWERS['503'] },
      security: [...writeKeyAuth, {}],
    },
  };
  // One path: with the trailing slash the SDKs add it is the same route, and a second entry would only repeat it.
  paths['/sourceConfig'] = sourceConfigGet;
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
        '200': json('Settings for analytics-next', {
          type: 'object',
          required: ['integrations'],
          properties: { integrations: { type: 'object' }, metrics: { type: 'object' }, remotePlugins: { type: 'array', items: {}, maxItems: 0 } },
        }),
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
}
