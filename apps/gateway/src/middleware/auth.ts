import type { IncomingMessage } from 'node:http';
import { ServiceUnavailableError, SourceRejectedError, UnauthorizedError } from '@evt/errors';
import type { SourceConfig } from '@evt/db';
import { parseBasicAuthorization } from '@evt/ingest';
import type { SourceRegistry } from '../services/source-registry';

/**
 * The write key of the `Authorization` header: undefined when there is no header,
 * 401 `Invalid Authorization Header` when there is one we cannot read.
 */
export function writeKeyFromHeader(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  if (header === undefined || header === '') return undefined;
  const credentials = parseBasicAuthorization(header);
  if (!credentials) throw new UnauthorizedError('Invalid Authorization Header');
  return credentials.user;
}

/** The `?writeKey=` of beacon, pixel and webhook calls. */
export function writeKeyFromQuery(req: IncomingMessage): string | undefined {
  const url = req.url ?? '';
  const start = url.indexOf('?');
  if (start === -1) return undefined;
  const value = new URLSearchParams(url.slice(start + 1)).get('writeKey');
  return value !== null && value !== '' ? value : undefined;
}

/** Segment clients also put the write key in the JSON body. */
export function writeKeyFromBody(body: unknown): string | undefined {
  const value = typeof body === 'object' && body !== null ? (body as { writeKey?: unknown }).writeKey : undefined;
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** The enabled source of a write key, or the error its caller must see. */
export function sourceForWriteKey(registry: SourceRegistry, writeKey: string | undefined): SourceConfig {
  // Until the first configuration load nobody can be recognised: that is our fault, so 503, not 401.
  if (!registry.loaded) throw new ServiceUnavailableError('source configuration not loaded yet');
  if (writeKey === undefined) throw new UnauthorizedError('Invalid Authorization Header');
  const source = registry.byWriteKey(writeKey);
  if (!source) throw new UnauthorizedError('Invalid write key');
  if (!source.enabled) throw new SourceRejectedError('Source is disabled');
  return source;
}
