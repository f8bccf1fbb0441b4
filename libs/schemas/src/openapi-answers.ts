import type { EventRoute } from './routes';

/** The plain-text answers every event route gives, and the operations built on them. */
export const text = (description: string, example: string) => ({
  description,
  content: { 'text/plain; charset=utf-8': { schema: { type: 'string' }, example } },
});

/** The `Retry-After` header of a 429 or 503: the gateway sets it on both. */
const retryAfter = {
  'Retry-After': { description: 'Seconds to wait before sending the request again.', schema: { type: 'integer', minimum: 0 }, example: 1 },
};

export const ANSWERS = {
  '200': text('StatusOK', 'OK'),
  '400': text('StatusBadRequest', 'Invalid request: userId or anonymousId is required'),
  '401': text('StatusUnauthorized', 'Invalid Authorization Header'),
  '404': text('StatusNotFound', 'Source is disabled'),
  '413': text('StatusRequestEntityTooLarge', 'Request size too large'),
  '429': { ...text('StatusTooManyRequests', 'Too many requests'), headers: retryAfter },
  '503': { ...text('StatusServiceUnavailable: retry after the Retry-After header’s seconds', 'Service unavailable'), headers: retryAfter },
};

/**
 * What Node's HTTP server answers before any route sees the request (no body, the connection is
 * closed): it is how a probe or a pixel can fail, as neither has an answer of its own for a bad request.
 */
export const NODE_ANSWERS = {
  RequestTimeout: { description: 'The request’s headers did not all arrive within HEADERS_TIMEOUT_MS (or the whole request within REQUEST_TIMEOUT_MS).' },
  RequestHeaderFieldsTooLarge: { description: 'The request line and headers exceed 16 KiB (Node’s limit), the query string included.' },
};

/** The answers Node gives any route, for operations that have no 4xx of their own. */
export const NODE_4XX = {
  '408': { $ref: '#/components/responses/RequestTimeout' },
  '431': { $ref: '#/components/responses/RequestHeaderFieldsTooLarge' },
};

/** While the gateway is stopping, every route but the health checks answers this 503. */
export const STOPPING_503 = {
  ...text('StatusServiceUnavailable: the gateway is stopping; retry after the Retry-After header’s seconds', 'Service unavailable'),
  headers: retryAfter,
};

export const writeKeyAuth = [{ writeKeyAuth: [] }];
export const sourceIDAuth = [{ sourceIDAuth: [] }];

// The internal API answers as the public one; its batch route adds no 429 (internal calls are not rate limited).
export const { '429': _rateLimited, ...INTERNAL_BATCH_ANSWERS } = ANSWERS;

/** A request header an operation reads. */
export const header = (name: string, description: string) => ({ name, in: 'header', required: false, description, schema: { type: 'string' } });

export const INTERNAL_TOKEN_HEADER = header(
  'X-Internal-Token',
  'INTERNAL_API_TOKEN, when it is set and not given as the Basic password. A wrong or missing token: 401 `Invalid Authorization Header`.',
);
export const SOURCE_ID_HEADER = header('X-Rudder-Source-Id', 'The source id, as RudderStack’s services send it; it wins over the Basic user name.');

export function internalOperation(
  operationId: string,
  summary: string,
  description: string,
  schemaName: string,
  security: unknown[],
  options: { responses?: object; headers?: object[] } = {},
) {
  return {
    post: {
      tags: ['Internal API'],
      summary,
      description: `${description} With INTERNAL_API_TOKEN set, the token is also required (Basic password or X-Internal-Token); INTERNAL_API_ENABLED=false turns the route off (404).`,
      operationId,
      parameters: [INTERNAL_TOKEN_HEADER, ...(options.headers ?? [])],
      requestBody: { required: true, content: { 'application/json': { schema: { $ref: `#/components/schemas/${schemaName}` } } } },
      responses: options.responses ?? ANSWERS,
      security,
    },
  };
}

/**
 * An event route's operation, from the route table. The beacon's write key is in the query, and
 * its body is text/plain (navigator.sendBeacon with a string sends it so); every event route
 * reads its body as JSON whatever the Content-Type says.
 */
export function eventOperation(route: EventRoute) {
  const body = { schema: { $ref: `#/components/schemas/${route.schema}` } };
  const operation = {
    tags: [route.tag],
    summary: route.summary,
    description: route.description,
    operationId: route.operationId,
    requestBody: { required: true, content: { 'application/json': body } },
    responses: ANSWERS,
    security: writeKeyAuth as unknown[],
  };
  if (route.writeKeyIn === 'header') return { post: operation };
  return {
    post: {
      ...operation,
      parameters: [{ name: 'writeKey', in: 'query', required: true, schema: { type: 'string' } }],
      requestBody: { required: true, content: { 'text/plain': body, 'application/json': body } },
      security: [],
    },
  };
}
