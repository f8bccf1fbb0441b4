import { NODE_4XX, STOPPING_503 } from './openapi-answers';

type Paths = Record<string, unknown>;

/** Health, version and metrics: public (no credentials) but for /metrics under METRICS_TOKEN. */
export function addOperationsPaths(paths: Paths): void {
  const readiness = {
    type: 'object',
    required: ['status', 'redis', 'postgres', 'sourcesLoaded', 'stopping'],
    properties: {
      status: { type: 'string', enum: ['ok', 'unavailable'] },
      redis: { type: 'string', enum: ['up', 'down'] },
      postgres: {
        type: 'string',
        enum: ['up', 'down'],
        description: 'Reported only: events are queued while Postgres is down, so it never makes the gateway unready.',
      },
      sourcesLoaded: { type: 'boolean' },
      stopping: { type: 'boolean' },
    },
  };
  const readinessResponses = {
    '200': {
      description: 'Ready: Redis answers, sources are loaded, not stopping (Postgres may be down)',
      content: { 'application/json': { schema: readiness } },
    },
    ...NODE_4XX,
    '503': {
      description: 'Not ready: Redis is down, sources are not loaded yet, or the gateway is stopping (the body says which)',
      content: { 'application/json': { schema: readiness } },
    },
  };
  paths['/health/live'] = {
    get: {
      tags: ['Operations'],
      summary: 'Liveness: the process answers',
      description: 'For restarts (a liveness probe). Answers 200 whatever the state of Redis or Postgres.',
      operationId: 'HealthLive',
      responses: {
        '200': {
          description: 'The process answers',
          content: { 'application/json': { schema: { type: 'object', required: ['status'], properties: { status: { type: 'string', enum: ['ok'] } } } } },
        },
        ...NODE_4XX,
      },
      security: [],
    },
  };
  paths['/health/ready'] = {
    get: {
      tags: ['Operations'],
      summary: 'Readiness: the gateway can accept events',
      description: 'For load balancers and readiness probes.',
      operationId: 'HealthReady',
      responses: readinessResponses,
      security: [],
    },
  };
  paths['/health'] = {
    get: {
      tags: ['Operations'],
      summary: 'Health (same as /health/ready)',
      description: 'Kept for existing probes; it answers as /health/ready. It no longer fails while only Postgres is down.',
      operationId: 'Health',
      responses: readinessResponses,
      security: [],
    },
  };
  paths['/version'] = {
    get: {
      tags: ['Operations'],
      summary: 'Version',
      operationId: 'Version',
      responses: {
        '200': {
          description: 'Name and version',
          content: {
            'application/json': {
              schema: {
                type: 'object',
                required: ['name', 'version'],
                properties: { name: { type: 'string', example: 'evt-gateway' }, version: { type: 'string' } },
              },
            },
          },
        },
        ...NODE_4XX,
        '503': STOPPING_503,
      },
      security: [],
    },
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
        '503': STOPPING_503,
      },
      // Open until METRICS_TOKEN is set: the token, or nothing.
      security: [{ metricsToken: [] }, {}],
    },
  };
  paths['/admin/queues'] = {
    get: {
      tags: ['Operations'],
      summary: 'Queue dashboard (bull-board)',
      description:
        "Only when ADMIN_TOKEN is set (else 404). The BullMQ community's dashboard over every queue and shard: an HTML page, its assets and its JSON API under /admin/queues/ (GET /admin/queues/api/queues, PUT /admin/queues/api/queues/{queue}/{jobId}/retry, …), which are bull-board's and not described here. Send ADMIN_TOKEN as a Bearer token, or as the password of HTTP Basic (any user name).",
      operationId: 'QueueDashboard',
      responses: {
        '200': { description: 'The dashboard page', content: { 'text/html': { schema: { type: 'string' } } } },
        '401': {
          description: 'Invalid admin token',
          headers: {
            'WWW-Authenticate': { description: 'Basic realm="evt admin", charset="UTF-8": a browser asks for the token', schema: { type: 'string' } },
          },
          content: { 'text/plain': { schema: { type: 'string' } } },
        },
        '404': { description: 'ADMIN_TOKEN is not set: the dashboard is off', content: { 'text/plain': { schema: { type: 'string' } } } },
        '503': STOPPING_503,
      },
      security: [{ adminToken: [] }, { adminBasic: [] }],
    },
  };
}
