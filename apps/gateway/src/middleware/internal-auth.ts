import type { IncomingMessage } from 'node:http';
import type { Config } from '@evt/config';
import { ServiceUnavailableError, SourceRejectedError, UnauthorizedError } from '@evt/errors';
import type { SourceConfig } from '@evt/db';
import { parseBasicAuthorization, sameSecret, type BasicCredentials } from '@evt/ingest';
import type { SourceRegistry } from '../services/source-registry';

function basicCredentials(req: IncomingMessage): BasicCredentials | undefined {
  const header = req.headers.authorization;
  if (header === undefined || header === '') return undefined;
  const credentials = parseBasicAuthorization(header);
  if (!credentials) throw new UnauthorizedError('Invalid Authorization Header');
  return credentials;
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
