import type { EventRoute } from './routes';

/** The plain-text answers every event route gives, and the operations built on them. */
export const text = (description: string, example: string) => ({
  description,
  content: { 'text/plain; charset=utf-8': { schema: { type: 'string' }, example } },
});

export const ANSWERS = {
  '200': text('StatusOK', 'OK'),
  '400': text('StatusBadRequest', 'Invalid request: userId or anonymousId is required'),
  '401': text('StatusUnauthorized', 'Invalid Authorization Header'),
  '404': text('StatusNotFound', 'Source is disabled'),
  '413': text('StatusRequestEntityTooLarge', 'Request size too large'),
  '429': text('StatusTooManyRequests', 'Too many requests'),
  '503': text('StatusServiceUnavailable: retry after the Retry-After header’s seconds', 'Service unavailable'),
};

export const writeKeyAuth = [{ writeKeyAuth: [] }];
export const sourceIDAuth = [{ sourceIDAuth: [] }];

// The internal API answers as the public one; its batch route adds no 429 (internal calls are not rate limited).
export const { '429': _rateLimited, ...INTERNAL_BATCH_ANSWERS } = ANSWERS;

export function internalOperation(
  operationId: string,
  summary: string,
  description: string,
  schemaName: string,
  security: unknown[],
  responses: object = ANSWERS,
) {
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
export function eventOperation(route: EventRoute) {
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
