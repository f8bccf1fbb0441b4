import { Router, type Request, type Response } from 'express';
import { buildOpenApiDocument } from '@evt/schemas';
import type { GatewayDeps } from '../deps';
import { closeAfterAnswer } from '../http/answer';

const DOCS_PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8" />
  <title>Event gateway API</title>
  <link rel="stylesheet" href="/docs/assets/swagger-ui.css" />
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/assets/swagger-ui-bundle.js"></script>
  <script>window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#swagger-ui' });</script>
</body>
</html>`;

/**
 * Liveness and readiness, mounted ahead of the refusal of requests while stopping: a probe must
 * read why the gateway is unready, stopping included.
 *
 * Ready means the gateway can accept events: Redis answers, sources are loaded, it is not
 * stopping. Postgres is reported but never makes it unready: events are queued while it is away
 * and stored once it is back, and a load balancer must not take every gateway out meanwhile.
 */
export function healthRoutes(deps: GatewayDeps): Router {
  const router = Router();

  router.get('/health/live', (_req: Request, res: Response) => {
    res.json({ status: 'ok' });
  });

  const readiness = async (_req: Request, res: Response) => {
    const [redis, postgres] = await Promise.all([
      deps.checks.redis().then(
        () => 'up' as const,
        () => 'down' as const,
      ),
      deps.checks.postgres().then(
        () => 'up' as const,
        () => 'down' as const,
      ),
    ]);
    deps.metrics.dependencyUp('redis', redis === 'up');
    deps.metrics.dependencyUp('postgres', postgres === 'up');
    const stopping = deps.isStopping();
    const sourcesLoaded = deps.sources.loaded;
    const ready = redis === 'up' && sourcesLoaded && !stopping;
    if (stopping) closeAfterAnswer(res);
    res.status(ready ? 200 : 503).json({ status: ready ? 'ok' : 'unavailable', redis, postgres, sourcesLoaded, stopping });
  };
  router.get('/health/ready', readiness);
  // Kept for existing probes: the same meaning as /health/ready (it used to fail on Postgres too).
  router.get('/health', readiness);
  return router;
}

/** Version, metrics and the API's own description. */
export function operationsRoutes(deps: GatewayDeps): Router {
  const router = Router();
  const openApi = JSON.stringify(buildOpenApiDocument(deps.version));

  router.get('/version', (_req: Request, res: Response) => {
    res.json({ name: 'evt-gateway', version: deps.version });
  });

  router.get('/openapi.json', (_req: Request, res: Response) => {
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
    res.end(openApi);
  });

  router.get('/metrics', (req: Request, res: Response) => deps.serveMetrics(req, res));

  router.get(['/docs', '/docs/'], (_req: Request, res: Response) => {
    res.setHeader('Content-Type', 'text/html; charset=utf-8');
    res.end(DOCS_PAGE);
  });
  return router;
}
