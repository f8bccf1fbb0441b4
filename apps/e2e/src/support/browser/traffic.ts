import type { BrowserContext, Request } from 'playwright-core';

/** One request the pages made outside their own site, with the answer (or why there was none). */
export interface Exchange {
  method: string;
  /** Origin, path and query, a write key in the query masked. */
  url: string;
  /** The answer's status, or undefined when there was none. */
  status?: number;
  failure?: string;
}

/**
 * Every request the pages of `context` make to an origin other than `siteOrigin`, as it happens.
 * Context-wide, as `page.on('request')` misses `sendBeacon` requests. Those made while a page is
 * being left are often not seen at all: what was sent is checked in Postgres, not here.
 */
export function recordTraffic(context: BrowserContext, siteOrigin: string): Exchange[] {
  const exchanges: Exchange[] = [];
  const byRequest = new Map<Request, Exchange>();
  context.on('request', (request) => {
    const url = new URL(request.url());
    if (url.origin === siteOrigin) return;
    if (url.searchParams.has('writeKey')) url.searchParams.set('writeKey', '…');
    const exchange: Exchange = { method: request.method(), url: url.toString() };
    exchanges.push(exchange);
    byRequest.set(request, exchange);
  });
  context.on('response', (response) => {
    const exchange = byRequest.get(response.request());
    if (exchange) exchange.status = response.status();
  });
  context.on('requestfailed', (request) => {
    const exchange = byRequest.get(request);
    if (exchange) exchange.failure = request.failure()?.errorText ?? 'failed';
  });
  return exchanges;
}
