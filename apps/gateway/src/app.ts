import express, { type Express, type Request, type Response } from 'express';
import path from 'node:path';
import type { GatewayDeps } from './deps';
import { sendText } from './http/answer';
import { cors } from './middleware/cors';
import { errorHandler } from './middleware/error-handler';
import { refuseWhileStopping } from './middleware/stopping';
import { adminRoutes } from './routes/admin.route';
import { internalRoutes } from './routes/internal.route';
import { healthRoutes, operationsRoutes } from './routes/operations.route';
import { pixelRoutes } from './routes/pixel.route';
import { sdkSettingsRoutes } from './routes/sdk-settings.route';
import { webhookRoutes } from './routes/webhook.route';

function swaggerUiAssets(): string {
  return path.dirname(require.resolve('swagger-ui-dist/package.json'));
}

/**
 * The gateway's Express app, for every request but the POSTs of the public event routes, which
 * the request listener (listener.ts) sends to their handlers straight.
 */
export function createApp(deps: GatewayDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  // req.protocol and req.host (the Segment settings' apiHost) follow X-Forwarded-* only from trusted proxies.
  app.set('trust proxy', deps.config.trustProxy);

  app.use(cors);
  app.use(healthRoutes(deps));
  app.use(refuseWhileStopping(deps));
  app.use(pixelRoutes(deps));
  app.use(sdkSettingsRoutes(deps));
  app.use(webhookRoutes(deps));
  app.use(internalRoutes(deps));
  app.use(operationsRoutes(deps));
  app.use(adminRoutes(deps));
  app.use('/docs/assets', express.static(swaggerUiAssets(), { index: false }));
  app.use((_req: Request, res: Response) => sendText(res, 404, 'Not found'));
  app.use(errorHandler(deps.logger));
  return app;
}
