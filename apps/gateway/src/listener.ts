import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Request } from 'express';
import { createApp } from './app';
import type { GatewayDeps } from './deps';
import { setCorsHeaders } from './middleware/cors';
import { refusedWhileStopping } from './middleware/stopping';
import { ADMIN_QUEUES_PATH } from './routes/admin.route';
import { eventHandlers, type RawHandler } from './routes/events.route';

/** The route a request matched, as a metrics label: its pattern, never its own path (bounded). */
function routeLabel(req: Request): string {
  if (req.method === 'OPTIONS') return 'preflight';
  // The dashboard is an Express app of its own (bull-board): its pages, assets and API count as one route.
  if (req.originalUrl?.startsWith(`${ADMIN_QUEUES_PATH}/`) || req.originalUrl === ADMIN_QUEUES_PATH) return ADMIN_QUEUES_PATH;
  const route = req.route as { path?: string | string[] } | undefined;
  if (route?.path !== undefined) return `${req.baseUrl ?? ''}${Array.isArray(route.path) ? route.path[0] : route.path}`;
  if (req.url?.startsWith('/docs/assets/')) return '/docs/assets';
  if (req.url?.startsWith('/analytics-next/bundles/')) return '/analytics-next/bundles';
  return 'unmatched';
}

/**
 * The event route a path names as Express routes match: in any case, with or without a trailing
 * slash. Asked only when the path is not a route as it is (the SDKs send it as it is).
 */
function looseEventRoute(handlers: Map<string, RawHandler>, path: string): string | undefined {
  const loose = path.toLowerCase().replace(/(.)\/$/, '$1');
  return handlers.has(loose) ? loose : undefined;
}

/**
 * The server's request listener: POSTs to the public event routes go to their handlers directly
 * (Express's routing and request decoration cost more than the whole of our ingest work);
 * everything else, preflights included, goes through Express (app.ts).
 */
export function createRequestListener(deps: GatewayDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const handlers = eventHandlers(deps);
  const app = createApp(deps);
  return (req, res) => {
    const url = req.url ?? '/';
    const query = url.indexOf('?');
    let path = query === -1 ? url : url.slice(0, query);
    let handler = req.method === 'POST' ? handlers.get(path) : undefined;
    if (handler === undefined && req.method === 'POST') {
      const route = looseEventRoute(handlers, path);
      if (route !== undefined) {
        path = route;
        handler = handlers.get(route);
      }
    }
    res.once('finish', () => deps.metrics.request(handler ? path : routeLabel(req as Request), res.statusCode));
    if (!handler) return void app(req, res);
    setCorsHeaders(res);
    if (!refusedWhileStopping(deps, res)) void handler(req, res);
  };
}
