import type { IncomingMessage, ServerResponse } from 'node:http';
import { InvalidJsonError, InvalidRequestError, PayloadTooLargeError } from '@evt/errors';
import type { SourceConfig } from '@evt/db';
import { isPlainObject } from '@evt/ingest';
import type { GatewayDeps } from '../app';
import { parseJson, readBodyWithin } from '../middleware/body';
import { answerError, sendText } from '../middleware/errors';
import { sourceForWriteKey, writeKeyFromBody, writeKeyFromHeader, writeKeyFromQuery } from '../middleware/auth';
import { requestContext } from '../services/request-context';

const SINGLE_EVENT_ROUTES = [
  { type: 'identify', short: 'i' },
  { type: 'track', short: 't' },
  { type: 'page', short: 'p' },
  { type: 'screen', short: 's' },
  { type: 'group', short: 'g' },
  { type: 'alias', short: 'a' },
] as const;

/** A route handler on Node's own request and response: the hot path does not go through Express. */
export type RawHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

interface Parsed {
  source: SourceConfig;
  body: unknown;
  bytes: number;
}

/**
 * Authenticates and parses one request. The header's write key is checked before the body is
 * read; without a header, Segment's `writeKey` in the body is used. Bodies of known sources that
 * cannot be parsed leave a rejected-event trace.
 */
export async function authenticateAndParse(deps: GatewayDeps, req: IncomingMessage, writeKey: string | undefined, limit = deps.config.maxRequestSize): Promise<Parsed> {
  let source = writeKey !== undefined ? sourceForWriteKey(deps.sources, writeKey) : undefined;
  let bytes: Buffer;
  let body: unknown;
  try {
    bytes = await readBodyWithin(req, limit, deps.bodyBudget);
    body = parseJson(bytes);
  } catch (error) {
    if (source && (error instanceof InvalidJsonError || error instanceof PayloadTooLargeError)) {
      const size = Number(req.headers['content-length']) || 0;
      await deps.ingest.recordRejections([deps.ingest.rejection(source, error.publicMessage, undefined, size, new Date().toISOString())], 0);
    }
    throw error;
  }
  source ??= sourceForWriteKey(deps.sources, writeKeyFromBody(body));
  return { source, body, bytes: bytes.length };
}

/** `{"batch":[…]}` → its events, or the 400 a malformed batch gets (kept as a rejected event). */
export async function batchOf(deps: GatewayDeps, source: SourceConfig, body: unknown, bytes: number, receivedAt: string): Promise<unknown[]> {
  if (isPlainObject(body) && Array.isArray(body.batch)) return body.batch;
  const error = new InvalidRequestError(isPlainObject(body) ? 'batch must be an array' : 'body must be a JSON object with a batch array');
  await deps.ingest.recordRejections([deps.ingest.rejection(source, error.publicMessage.replace(/^Invalid request: /, ''), body, bytes, receivedAt)], bytes);
  throw error;
}

/**
 * The public event routes by path (all POST): single events, batches, imports, Segment's short
 * paths and beacons. Each handler answers itself, errors included.
 */
export function eventHandlers(deps: GatewayDeps): Map<string, RawHandler> {
  const handlers = new Map<string, RawHandler>();
  const answering = (work: RawHandler): RawHandler => (req, res) => work(req, res).catch((error: unknown) => answerError(res, error, deps.logger));

  for (const route of SINGLE_EVENT_ROUTES) {
    const handler = answering(async (req, res) => {
      const receivedAtMs = Date.now();
      const { source, body, bytes } = await authenticateAndParse(deps, req, writeKeyFromHeader(req));
      await deps.ingest.submit({ source, events: [body], type: route.type, request: requestContext(req, receivedAtMs, deps.clientIp), bytes });
      sendText(res, 200, 'OK');
    });
    handlers.set(`/v1/${route.type}`, handler);
    handlers.set(`/v1/${route.short}`, handler);
  }

  const batch = (writeKeyOf: (req: IncomingMessage) => string | undefined) =>
    answering(async (req, res) => {
      const receivedAtMs = Date.now();
      const { source, body, bytes } = await authenticateAndParse(deps, req, writeKeyOf(req));
      const events = await batchOf(deps, source, body, bytes, new Date(receivedAtMs).toISOString());
      const batchBody = body as { sentAt?: unknown; context?: unknown; integrations?: unknown };
      await deps.ingest.submit({ source, events, request: requestContext(req, receivedAtMs, deps.clientIp, batchBody), bytes });
      sendText(res, 200, 'OK');
    });
  const batchHandler = batch(writeKeyFromHeader);
  for (const path of ['/v1/batch', '/v1/import', '/v1/b']) handlers.set(path, batchHandler);
  // sendBeacon cannot set headers: the write key comes in the query (a header still wins if present).
  handlers.set('/beacon/v1/batch', batch((req) => writeKeyFromHeader(req) ?? writeKeyFromQuery(req)));
  return handlers;
}
