import { Router, type Request, type Response } from 'express';
import { pixelEvent } from '@evt/ingest';
import type { GatewayDeps } from '../deps';
import { sourceForWriteKey, writeKeyFromQuery } from '../request/auth';
import { requestContext } from '../request/context';

/** The smallest transparent GIF: 1×1, 43 bytes. */
export const PIXEL_GIF = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');

function sendPixel(res: Response): void {
  res.statusCode = 200;
  res.setHeader('Content-Type', 'image/gif');
  res.setHeader('Cache-Control', 'no-cache, no-store, must-revalidate');
  res.end(PIXEL_GIF);
}

/**
 * `GET /pixel/v1/track|page?writeKey=…`: an <img> cannot read an error, so the answer is always
 * the GIF; what went wrong is logged (and, for a known source, kept as a rejected event).
 */
export function pixelRoutes(deps: GatewayDeps): Router {
  const router = Router();
  for (const type of ['track', 'page'] as const) {
    router.get(`/pixel/v1/${type}`, async (req: Request, res: Response) => {
      const receivedAtMs = Date.now();
      try {
        const source = sourceForWriteKey(deps.sources, writeKeyFromQuery(req));
        const event = pixelEvent(req.query as Record<string, unknown>, type);
        await deps.ingest.submit({
          source,
          events: [event],
          request: requestContext(req, receivedAtMs, deps.clientIp, undefined, type),
          bytes: req.url.length,
        });
      } catch (error) {
        deps.logger.info({ route: `pixel/${type}`, err: (error as Error).message }, 'pixel event not accepted');
      }
      sendPixel(res);
    });
  }
  return router;
}
