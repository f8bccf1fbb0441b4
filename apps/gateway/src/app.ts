import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import path from 'node:path';
import type { Config } from '@evt/config';
import { ServiceUnavailableError } from '@evt/errors';
import type { Logger } from '@evt/logging';
import { cors } from './middleware/cors';
import { answerError, errorHandler, sendText } from './middleware/errors';
import { eventRoutes } from './routes/events.route';
import { internalRoutes } from './routes/internal.route';
import { operationsRoutes } from './routes/operations.route';
import { pixelRoutes } from './routes/pixel.route';
import { webhookRoutes } from './routes/webhook.route';
import type { IngestService } from './services/ingest.service';
import type { InternalIngestService } from './services/internal-ingest.service';
import type { SourceRegistry } from './services/source-registry';

export interface GatewayDeps {
  config: Config;
  logger: Logger;
  sources: SourceRegistry;
  ingest: IngestService;
  internal: InternalIngestService;
  checks: { redis(): Promise<void>; postgres(): Promise<void> };
  version: string;
  /** True once a stop was asked for: new requests get 503 so clients retry elsewhere. */
  isStopping(): boolean;
}

function swaggerUiAssets(): string {
  return path.dirname(require.resolve('swagger-ui-dist/package.json'));
}

/** The gateway's Express app, without listening: tests and main.ts share it. */
export function createApp(deps: GatewayDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.set('trust proxy', deps.config.trustProxy);

  app.use(cors);
  app.use((_req: Request, res: Response, next: NextFunction) => {
    if (!deps.isStopping()) return next();
    res.setHeader('Connection', 'close');
    answerError(res, new ServiceUnavailableError('shutting down'), deps.logger);
  });
  app.use(eventRoutes(deps));
  app.use(pixelRoutes(deps));
  app.use(webhookRoutes(deps));
  app.use(internalRoutes(deps));
  app.use(operationsRoutes(deps));
  app.use('/docs/assets', express.static(swaggerUiAssets(), { index: false }));
  app.use((_req: Request, res: Response) => sendText(res, 404, 'Not found'));
  app.use(errorHandler(deps.logger));
  return app;
}
