import type { IncomingMessage } from 'node:http';
import type { SourceConfig } from '@evt/db';
import { InvalidJsonError, InvalidRequestError, PayloadTooLargeError } from '@evt/errors';
import { isPlainObject } from '@evt/ingest';
import type { GatewayDeps } from '../deps';
import { readBodyWithin } from '../http/body';
import { parseJson } from '../http/json';
import { sourceForWriteKey, writeKeyFromBody } from './auth';
import type { BodyFormat } from './body-format';

/** A request whose source is known and whose body is parsed. */
export interface Incoming<Body> {
  source: SourceConfig;
  body: Body;
  /** Bytes of the (inflated) body. */
  bytes: number;
}

/** A JSON body up to MAX_REQUEST_SIZE, whatever the Content-Type says: the public API's and most internal routes'. */
export const JSON_BODY: BodyFormat<Buffer, unknown> = {
  read: (req, deps) => readBodyWithin(req, deps.config.maxRequestSize, deps.bodyBudget),
  parse: parseJson,
  size: (bytes) => bytes.length,
};

/**
 * Every route with a body reads it here: its source is known from the credentials (`source`,
 * found before a byte is read), or else from the body's `writeKey`. The body of a known source
 * that cannot be read (not JSON, too large) leaves a rejected-event record.
 */
export async function readRequest<Raw, Body>(
  deps: GatewayDeps,
  req: IncomingMessage,
  source: SourceConfig | undefined,
  format: BodyFormat<Raw, Body>,
): Promise<Incoming<Body>> {
  let raw: Raw;
  let body: Body;
  try {
    raw = await format.read(req, deps);
    body = format.parse(raw, req);
  } catch (error) {
    if (source && (error instanceof InvalidJsonError || error instanceof PayloadTooLargeError)) await recordUnreadable(deps, req, source, error);
    throw error;
  }
  if (source === undefined) {
    try {
      source = sourceForWriteKey(deps.sources, writeKeyFromBody(format.writeKeyHolder ? format.writeKeyHolder(body) : body));
    } catch (error) {
      await format.discard?.(raw);
      throw error;
    }
  }
  return { source, body, bytes: format.size(raw) };
}

async function recordUnreadable(deps: GatewayDeps, req: IncomingMessage, source: SourceConfig, error: InvalidJsonError | PayloadTooLargeError): Promise<void> {
  const size = Number(req.headers['content-length']) || 0;
  await deps.ingest.recordRejections([deps.ingest.rejection(source, error.publicMessage, undefined, size, new Date().toISOString())], 0);
}

/** `{"batch":[…]}` → its events, or the 400 a malformed batch gets (kept as a rejected event). */
export async function batchOf(deps: GatewayDeps, { source, body, bytes }: Incoming<unknown>, receivedAt: string): Promise<unknown[]> {
  if (isPlainObject(body) && Array.isArray(body.batch)) return body.batch;
  const error = new InvalidRequestError(isPlainObject(body) ? 'batch must be an array' : 'body must be a JSON object with a batch array');
  await deps.ingest.recordRejections([deps.ingest.rejection(source, error.publicMessage.replace(/^Invalid request: /, ''), body, bytes, receivedAt)], bytes);
  throw error;
}
