import type { IncomingMessage } from 'node:http';
import proxyaddr from 'proxy-addr';
import type { TrustProxy } from '@evt/config';
import { decodeAnonymousIdHeader, type RequestContext } from '@evt/ingest';

export type ClientIp = (req: IncomingMessage) => string | undefined;

/**
 * The client's address as TRUST_PROXY allows (Express's own rules, through proxy-addr): the
 * peer, or the nearest untrusted address of X-Forwarded-For. IPv4-mapped IPv6 is unwrapped.
 */
export function clientIpResolver(trustProxy: TrustProxy): ClientIp {
  const unwrap = (ip: string | undefined) => (ip?.startsWith('::ffff:') ? ip.slice(7) : ip);
  if (trustProxy === false) return (req) => unwrap(req.socket.remoteAddress);
  const trust =
    trustProxy === true
      ? () => true
      : typeof trustProxy === 'number'
        ? (_address: string, hop: number) => hop < trustProxy
        : proxyaddr.compile(trustProxy.split(',').map((part) => part.trim()));
  return (req) => unwrap(proxyaddr(req, trust));
}

/** What a batch body adds to each of its events. */
export interface BatchFields {
  sentAt?: unknown;
  context?: unknown;
  integrations?: unknown;
}

/**
 * What enrichment needs to know of the request; `receivedAtMs` is taken when the request arrived,
 * `type` is the one a single-event route forces.
 */
export function requestContext(req: IncomingMessage, receivedAtMs: number, clientIp: ClientIp, batch?: BatchFields, type?: string): RequestContext {
  const sentAtHeader = req.headers.sentat;
  const anonymousId = req.headers.anonymousid;
  return {
    type,
    receivedAt: new Date(receivedAtMs).toISOString(),
    receivedAtMs,
    requestIp: clientIp(req),
    sentAt: batch?.sentAt ?? (typeof sentAtHeader === 'string' ? sentAtHeader : undefined),
    batchContext: batch?.context,
    batchIntegrations: batch?.integrations,
    anonymousIdHeader: typeof anonymousId === 'string' ? decodeAnonymousIdHeader(anonymousId) : undefined,
  };
}
