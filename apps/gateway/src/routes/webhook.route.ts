import { Router, type Request, type Response } from 'express';
import { InvalidJsonError, InvalidRequestError, SourceRejectedError } from '@evt/errors';
import { isPlainObject, setOwn, type Dictionary } from '@evt/ingest';
import type { GatewayDeps } from '../app';
import { MAX_JSON_DEPTH, nestedDeeperThan, readBodyWithin } from '../middleware/body';
import { sendText } from '../middleware/errors';
import { sourceForWriteKey, writeKeyFromHeader, writeKeyFromQuery } from '../middleware/auth';
import { requestContext } from '../services/request-context';

/** Any JSON body, or a form body, as an object; an empty body is `{}`. */
function parseWebhookBody(bytes: Buffer, contentType: string | undefined): unknown {
  if (bytes.length === 0) return {};
  if (nestedDeeperThan(bytes, MAX_JSON_DEPTH)) throw new InvalidRequestError(`JSON nested deeper than ${MAX_JSON_DEPTH} levels`);
  const text = bytes.toString('utf8');
  try {
    return JSON.parse(text);
  } catch (error) {
    if (!contentType?.includes('application/x-www-form-urlencoded')) throw new InvalidJsonError({ cause: error });
    const form: Dictionary = {};
    for (const [key, value] of new URLSearchParams(text)) setOwn(form, key, value);
    return form;
  }
}

/** The query without the write key: a secret never goes into storage. */
function queryWithoutWriteKey(req: Request): Dictionary {
  const query: Dictionary = {};
  for (const [key, value] of Object.entries(req.query)) if (key !== 'writeKey') setOwn(query, key, value);
  return query;
}

/**
 * `POST|GET /v1/webhook`: whatever a third party sends to a webhook source is stored as one
 * `webhook` event, its body in `properties`, so nothing it sent is lost.
 */
export function webhookRoutes(deps: GatewayDeps): Router {
  const router = Router();
  const handler = async (req: Request, res: Response) => {
    const receivedAtMs = Date.now();
    const source = sourceForWriteKey(deps.sources, writeKeyFromQuery(req) ?? writeKeyFromHeader(req));
    if (source.kind !== 'webhook') throw new SourceRejectedError('Source does not accept webhook events');
    const bytes = req.method === 'GET' ? Buffer.alloc(0) : await readBodyWithin(req, deps.config.maxRequestSize, deps.bodyBudget);
    const body = req.method === 'GET' ? queryWithoutWriteKey(req) : parseWebhookBody(bytes, req.headers['content-type']);
    const event: Dictionary = {
      type: 'webhook',
      properties: isPlainObject(body) ? body : { body },
      context: { webhook: { method: req.method, query: queryWithoutWriteKey(req), contentType: req.headers['content-type'] ?? null } },
    };
    await deps.ingest.submit({ source, events: [event], type: 'webhook', validate: () => undefined, request: requestContext(req, receivedAtMs, deps.clientIp), bytes: bytes.length });
    sendText(res, 200, 'OK');
  };
  router.post('/v1/webhook', handler);
  router.get('/v1/webhook', handler);
  return router;
}
