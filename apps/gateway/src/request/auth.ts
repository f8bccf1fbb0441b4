import type { IncomingMessage } from 'node:http';
import type { Config } from '@evt/config';
import { ServiceUnavailableError, SourceRejectedError, UnauthorizedError } from '@evt/errors';
import type { SourceConfig } from '@evt/db';
import { parseBasicAuthorization, sameSecret, type BasicCredentials } from '@evt/ingest';
import type { SourceRegistry } from '../services/source-registry';

/** The Basic credentials of the `Authorization` header: undefined without one, 401 when it cannot be read. */
function basicCredentials(req: IncomingMessage): BasicCredentials | undefined {
  const header = req.headers.authorization;
  if (header === undefined || header === '') return undefined;
  const credentials = parseBasicAuthorization(header);
  if (!credentials) throw new UnauthorizedError('Invalid Authorization Header');
  return credentials;
}

/**
 * The write key of the `Authorization` header: undefined when there is no header,
 * 401 `Invalid Authorization Header` when there is one we cannot read.
 */
export function writeKeyFromHeader(req: IncomingMessage): string | undefined {
  return basicCredentials(req)?.user;
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

/** The source of a write key, disabled or not (the browser SDKs' settings say which), or the error its caller must see. */
export function registeredSource(registry: SourceRegistry, writeKey: string | undefined): SourceConfig {
  // Until the first configuration load nobody can be recognised: that is our fault, so 503, not 401.
  if (!registry.loaded) throw new ServiceUnavailableError('source configuration not loaded yet');
  if (writeKey === undefined) throw new UnauthorizedError('Invalid Authorization Header');
  const source = registry.byWriteKey(writeKey);
  if (!source) throw new UnauthorizedError('Invalid write key');
  return source;
}

/** The enabled source of a write key, or the error its caller must see. */
export function sourceForWriteKey(registry: SourceRegistry, writeKey: string | undefined): SourceConfig {
  const source = registeredSource(registry, writeKey);
  if (!source.enabled) throw new SourceRejectedError('Source is disabled');
  return source;
}

/** The source of a write key given before the body (checked before it is read); undefined leaves it to the body's `writeKey`. */
export function sourceBeforeBody(registry: SourceRegistry, writeKey: string | undefined): SourceConfig | undefined {
  return writeKey !== undefined ? sourceForWriteKey(registry, writeKey) : undefined;
}

/** With INTERNAL_API_TOKEN set, every internal call also carries it: Basic password or X-Internal-Token. */
function requireToken(config: Config, req: IncomingMessage, credentials: BasicCredentials | undefined): void {
  if (config.internalApiToken === undefined) return;
  const header = req.headers['x-internal-token'];
  const given = typeof header === 'string' && header !== '' ? header : credentials?.password;
  if (!given || !sameSecret(given, config.internalApiToken)) throw new UnauthorizedError('Invalid Authorization Header');
}

/** The write key of an internal write-key route (extract, audiencelist), after the token check. */
export function internalWriteKey(config: Config, req: IncomingMessage): string | undefined {
  const credentials = basicCredentials(req);
  requireToken(config, req, credentials);
  return credentials?.user;
}

/**
 * sourceIDAuth: the source id as the Basic user name, or the `X-Rudder-Source-Id` header that
 * RudderStack's services send. Missing → 401 Invalid Authorization Header, unknown → 401 Invalid
 * source id, disabled → 404 Source is disabled.
 */
export function sourceForSourceId(config: Config, registry: SourceRegistry, req: IncomingMessage): SourceConfig {
  const credentials = basicCredentials(req);
  requireToken(config, req, credentials);
  const header = req.headers['x-rudder-source-id'];
  const sourceId = typeof header === 'string' && header !== '' ? header : credentials?.user;
  if (!sourceId) throw new UnauthorizedError('Invalid Authorization Header');
  if (!registry.loaded) throw new ServiceUnavailableError('source configuration not loaded yet');
  const source = registry.bySourceId(sourceId);
  if (!source) throw new UnauthorizedError('Invalid source id');
  if (!source.enabled) throw new SourceRejectedError('Source is disabled');
  return source;
}
