import type { IncomingMessage } from 'node:http';
import { Router, type NextFunction, type Request, type Response } from 'express';
import { parseBearerAuthorization, sameSecret, secretDigest } from '@evt/ingest';
import type { GatewayDeps } from '../deps';

/** Where the queue dashboard is served when ADMIN_TOKEN is set. */
export const ADMIN_QUEUES_PATH = '/admin/queues';

/** The password of `Authorization: Basic …` (any user name, an empty one too: a browser's login prompt sends what was typed). */
function basicPassword(header: string | undefined): string | undefined {
  const match = header ? /^\s*basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header) : null;
  if (!match) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon === -1 ? undefined : decoded.slice(colon + 1);
}

/** True when the request carries `token` as a Bearer token or as Basic's password, compared in constant time. */
export function adminTokenCheck(token: string): (req: IncomingMessage) => boolean {
  const expected = secretDigest(token);
  return (req) => {
    const given = parseBearerAuthorization(req.headers.authorization) ?? basicPassword(req.headers.authorization);
    return sameSecret(given ?? '', expected);
  };
}

/**
 * The queue dashboard (bull-board, built by libs/queue) behind ADMIN_TOKEN. A refused request gets
 * 401 with a Basic challenge, so that a browser asks for the token (as the password) and opens it.
 */
export function adminRoutes(deps: GatewayDeps): Router {
  const router = Router();
  const dashboard = deps.queueDashboard;
  const token = deps.config.adminToken;
  if (!dashboard || token === undefined) return router;
  const allowed = adminTokenCheck(token);
  router.use(ADMIN_QUEUES_PATH, (req: Request, res: Response, next: NextFunction) => {
    if (allowed(req)) return void next();
    res.setHeader('Cache-Control', 'no-store');
    res
      .writeHead(401, { 'Content-Type': 'text/plain; charset=utf-8', 'WWW-Authenticate': 'Basic realm="evt admin", charset="UTF-8"' })
      .end('Invalid admin token');
  });
  router.use(ADMIN_QUEUES_PATH, (req: Request, res: Response, next: NextFunction) => {
    // The dashboard's pages and answers are an admin's view: never kept by a shared cache.
    res.setHeader('Cache-Control', 'no-store');
    dashboard(req, res, next);
  });
  return router;
}
