import { Router, type Request, type Response } from 'express';
import type { IncomingMessage } from 'node:http';
import { InvalidJsonError, SourceRejectedError } from '@evt/errors';
import { isPlainObject, setOwn, type Dictionary } from '@evt/ingest';
import type { GatewayDeps } from '../deps';
import { sendText } from '../http/answer';
import { readBodyWithin } from '../http/body';
import { parseJson } from '../http/json';
import { sourceForWriteKey, writeKeyFromHeader, writeKeyFromQuery } from '../request/auth';
import type { BodyFormat } from '../request/body-format';
import { requestContext } from '../request/context';
import { readRequest } from '../request/read';

/** Any JSON body (parseJson: its depth bound and all), or a form body, as an object; an empty body is `{}`. */
function parseWebhookBody(bytes: Buffer, contentType: string | undefined): unknown {
  if (bytes.length === 0) return {};
  try {
    return parseJson(bytes);
  } catch (error) {
    if (!(error instanceof InvalidJsonError) || !contentType?.includes('application/x-www-form-urlencoded')) throw error;
    const form: Dictionary = {};
    for (const [key, value] of new URLSearchParams(bytes.toString('utf8'))) setOwn(form, key, value);
    return form;
  }
}

/** The query without the write key: a secret never goes into storage. */
function queryWithoutWriteKey(req: Request): Dictionary {
  const query: Dictionary = {};
  for (const [key, value] of Object.entries(req.query)) if (key !== 'writeKey') setOwn(query, key, value);
  return query;
}

const NO_BODY = Buffer.alloc(0);

/** A webhook's body: for GET, its query; else any JSON or form body up to MAX_REQUEST_SIZE. */
const WEBHOOK_BODY: BodyFormat<Buffer, unknown> = {
  read: (req, limits) => (req.method === 'GET' ? Promise.resolve(NO_BODY) : readBodyWithin(req, limits.config.maxRequestSize, limits.bodyBudget)),
  parse: (bytes: Buffer, req: IncomingMessage) =>
    req.method === 'GET' ? queryWithoutWriteKey(req as Request) : parseWebhookBody(bytes, req.headers['content-type']),
  size: (bytes) => bytes.length,
};

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
    const { body, bytes } = await readRequest(deps, req, source, WEBHOOK_BODY);
    const event: Dictionary = {
      type: 'webhook',
      properties: isPlainObject(body) ? body : { body },
      context: { webhook: { method: req.method, query: queryWithoutWriteKey(req), contentType: req.headers['content-type'] ?? null } },
    };
    // The gateway built this event: nothing to check but that it can be stored.
    await deps.ingest.submit({
      source,
      events: [event],
      kind: 'webhook',
      request: requestContext(req, receivedAtMs, deps.clientIp, undefined, 'webhook'),
      bytes,
    });
    sendText(res, 200, 'OK');
  };
  router.post('/v1/webhook', handler);
  router.get('/v1/webhook', handler);
  return router;
}
