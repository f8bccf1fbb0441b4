import { Router, type Request, type Response } from 'express';
import { buildOpenApiDocument } from '@evt/schemas';
import type { GatewayDeps } from '../app';

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

/** Health, version, metrics and the API's own description. */
export function operationsRoutes(deps: GatewayDeps): Router {
  const router = Router();
  const openApi = JSON.stringify(buildOpenApiDocument(deps.version));

  router.get('/health', async (_req: Request, res: Response) => {
    const [redis, postgres] = await Promise.all([
      deps.checks.redis().then(() => 'up' as const, () => 'down' as const),
      deps.checks.postgres().then(() => 'up' as const, () => 'down' as const),
    ]);
    const healthy = redis === 'up' && postgres === 'up';
    res.status(healthy ? 200 : 503).json({ status: healthy ? 'ok' : 'unavailable', redis, postgres, sourcesLoaded: deps.sources.loaded });
  });

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
