import type { Request } from 'express';
import { decodeAnonymousIdHeader, type RequestContext } from '@evt/ingest';

/** The client's address: Express applies TRUST_PROXY to X-Forwarded-For; IPv4-mapped IPv6 is unwrapped. */
export function clientIp(req: Request): string | undefined {
  const ip = req.ip ?? req.socket.remoteAddress;
  return ip?.startsWith('::ffff:') ? ip.slice(7) : ip;
}

/** What enrichment needs to know of the request; `receivedAtMs` is taken when the request arrived. */
export function requestContext(req: Request, receivedAtMs: number, batch?: { sentAt?: unknown; context?: unknown; integrations?: unknown }): RequestContext {
  const sentAtHeader = req.headers.sentat;
  return {
    receivedAt: new Date(receivedAtMs).toISOString(),
    receivedAtMs,
    requestIp: clientIp(req),
    sentAt: batch?.sentAt ?? (typeof sentAtHeader === 'string' ? sentAtHeader : undefined),
    batchContext: batch?.context,
    batchIntegrations: batch?.integrations,
    anonymousIdHeader: decodeAnonymousIdHeader(typeof req.headers.anonymousid === 'string' ? req.headers.anonymousid : undefined),
  };
}
