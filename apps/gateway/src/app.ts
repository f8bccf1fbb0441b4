import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import type { Config } from '@evt/config';
import { ServiceUnavailableError } from '@evt/errors';
import type { Logger } from '@evt/logging';
import type { GatewayMetrics } from '@evt/metrics';
import type { BodyBudget } from './middleware/body';
import { cors, setCorsHeaders } from './middleware/cors';
import { answerError, closeAfterAnswer, errorHandler, sendText } from './middleware/errors';
import type { RawHandler } from './routes/events.route';
import { internalRoutes } from './routes/internal.route';
import { healthRoutes, operationsRoutes } from './routes/operations.route';
import { pixelRoutes } from './routes/pixel.route';
import { sdkSettingsRoutes } from './routes/sdk-settings.route';
import { webhookRoutes } from './routes/webhook.route';
import type { IngestService } from './services/ingest.service';
import type { InternalIngestService } from './services/internal-ingest.service';
import type { ClientIp } from './services/request-context';
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
  /** The client's address, as TRUST_PROXY allows. */
  clientIp: ClientIp;
  /** Bounds the request bodies held in memory at once. */
  bodyBudget: BodyBudget;
  metrics: GatewayMetrics;
  /** GET /metrics (Prometheus text; METRICS_TOKEN as a Bearer token when set). */
  serveMetrics(req: IncomingMessage, res: ServerResponse): Promise<void>;
}

/** While stopping, a new request gets 503 and its connection is closed: the client retries elsewhere. */
function refusedWhileStopping(deps: GatewayDeps, res: ServerResponse): boolean {
  if (!deps.isStopping()) return false;
  closeAfterAnswer(res);
  answerError(res, new ServiceUnavailableError('shutting down'), deps.logger);
  return true;
}

function swaggerUiAssets(): string {
  return path.dirname(require.resolve('swagger-ui-dist/package.json'));
}

/**
 * The gateway's Express app, without listening. `eventHandlers` are the public event routes;
 * the server sends their requests to them straight (see createRequestListener), Express gets
 * the same handlers so that the app alone is complete.
 */
export function createApp(deps: GatewayDeps, eventHandlers: Map<string, RawHandler>): Express {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  // req.protocol and req.host (the Segment settings' apiHost) follow X-Forwarded-* only from trusted proxies.
  app.set('trust proxy', deps.config.trustProxy);

  app.use(cors);
  app.use(healthRoutes(deps));
  app.use((_req: Request, res: Response, next: NextFunction) => {
    if (!refusedWhileStopping(deps, res)) next();
  });
  for (const [path, handler] of eventHandlers) app.post(path, (req: Request, res: Response) => handler(req, res));
  app.use(pixelRoutes(deps));
  app.use(sdkSettingsRoutes(deps));
  app.use(webhookRoutes(deps));
  app.use(internalRoutes(deps));
  app.use(operationsRoutes(deps));
  app.use('/docs/assets', express.static(swaggerUiAssets(), { index: false }));
  app.use((_req: Request, res: Response) => sendText(res, 404, 'Not found'));
  app.use(errorHandler(deps.logger));
  return app;
}

/** The route a request matched, as a metrics label: its pattern, never its own path (bounded). */
function routeLabel(req: Request): string {
  if (req.method === 'OPTIONS') return 'preflight';
  const route = req.route as { path?: string | string[] } | undefined;
  if (route?.path !== undefined) return `${req.baseUrl ?? ''}${Array.isArray(route.path) ? route.path[0] : route.path}`;
  if (req.url?.startsWith('/docs/assets/')) return '/docs/assets';
  if (req.url?.startsWith('/analytics-next/bundles/')) return '/analytics-next/bundles';
  return 'unmatched';
}

/**
 * The server's request listener: POSTs to the public event routes go to their handlers directly
 * (Express's routing and request decoration cost more than the whole of our ingest work);
 * everything else, preflights included, goes through Express.
 */
export function createRequestListener(deps: GatewayDeps, eventHandlers: Map<string, RawHandler>, app: Express): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const url = req.url ?? '/';
    const query = url.indexOf('?');
    const path = query === -1 ? url : url.slice(0, query);
    const handler = req.method === 'POST' ? eventHandlers.get(path) : undefined;
    res.once('finish', () => deps.metrics.request(handler ? path : routeLabel(req as Request), res.statusCode));
    if (!handler) return void app(req, res);
    setCorsHeaders(res);
    if (!refusedWhileStopping(deps, res)) void handler(req, res);
  };
}
