import express, { Router, type Request, type Response } from 'express';
import path from 'node:path';
import type { SourceConfig } from '@evt/db';
import { InvalidRequestError } from '@evt/errors';
import type { GatewayDeps } from '../deps';
import { sendText } from '../http/answer';
import { registeredSource, sourceForWriteKey, writeKeyFromHeader, writeKeyFromQuery } from '../request/auth';

/**
 * What browser SDKs fetch before they send anything, answered from the in-memory source registry
 * (no database query): RudderStack's source configuration (`configUrl`) and Segment's settings
 * (`cdnURL`). Both say there are no device-mode destinations and no remote plugins, so the SDKs
 * send every event here and load nothing from a vendor's CDN.
 */
export function sdkSettingsRoutes(deps: GatewayDeps): Router {
  const router = Router();

  // RudderStack analytics-js v3 and v1.1: GET {configUrl}/sourceConfig/?p=…&v=…&writeKey=KEY.
  router.get(['/sourceConfig', '/sourceConfig/'], (req: Request, res: Response) => {
    // The SDKs send the key both ways; the header wins, as on the beacon route.
    const source = registeredSource(deps.sources, writeKeyFromHeader(req) ?? writeKeyFromQuery(req));
    sendJson(res, rudderSourceConfig(source));
  });

  // The SDKs' own telemetry (v3 with statsCollection on; our config leaves it off): taken, not kept.
  router.post('/rsaMetrics', (_req: Request, res: Response) => sendText(res, 200, 'OK'));

  // Segment analytics-next: GET {cdnURL}/v1/projects/KEY/settings.
  router.get('/v1/projects/:writeKey/settings', (req: Request, res: Response) => {
    // analytics-next has no "disabled" setting: a failed load (404 for a disabled source) is how it stops sending.
    const source = sourceForWriteKey(deps.sources, req.params.writeKey as string);
    sendJson(res, segmentSettings(source.writeKey, segmentApiAddress(deps, req)));
  });

  // Segment's client metrics ({apiHost}/m). Our settings turn them off; older pages may still send.
  router.post('/v1/m', (_req: Request, res: Response) => sendText(res, 200, 'OK'));

  // Segment's snippet loads {analytics._cdn}/analytics.js/v1/KEY/analytics.min.js, which loads its
  // chunks from {cdn}/analytics-next/bundles/: served from the npm package, so a snippet whose
  // `_cdn` is the gateway needs nothing from Segment. The file is the same for every write key.
  const bundles = segmentBundles();
  router.get('/analytics.js/v1/:writeKey/analytics.min.js', (_req: Request, res: Response) => {
    res.setHeader('Cache-Control', 'public, max-age=300');
    res.sendFile(path.join(bundles, 'standalone.js'));
  });
  router.use('/analytics-next/bundles', express.static(bundles, { index: false, maxAge: '1d', fallthrough: true }));
  return router;
}

/** analytics-next's browser builds: standalone.js (the snippet's script) and the chunks it loads. */
function segmentBundles(): string {
  return path.join(path.dirname(require.resolve('@segment/analytics-next/package.json')), 'dist', 'umd');
}

function sendJson(res: Response, body: unknown): void {
  // Served from memory at no cost: no HTTP caching, so a disabled source is seen at the next page load.
  res.setHeader('Cache-Control', 'no-store');
  res.json(body);
}

/** The shape both RudderStack browser SDKs check (`source.id`, `source.config`, `source.destinations`). */
export function rudderSourceConfig(source: SourceConfig): unknown {
  return {
    isHosted: false,
    source: {
      id: source.id,
      name: source.name,
      writeKey: source.writeKey,
      workspaceId: source.workspaceId,
      enabled: source.enabled,
      config: {},
      destinations: [],
    },
  };
}

/** This request's scheme and host, as TRUST_PROXY allows; undefined when its Host names no host. */
function requestOrigin(req: Request): URL | undefined {
  // HTTP/1.0 may leave Host out (Node refuses HTTP/1.1 without it).
  if (!req.host) return undefined;
  try {
    const url = new URL(`${req.protocol}://${req.host}`);
    return url.pathname === '/' && url.search === '' ? url : undefined;
  } catch {
    return undefined;
  }
}

/** Where Segment's SDK must send events: PUBLIC_URL (its path included), or this request's own origin. */
export function segmentApiAddress(deps: GatewayDeps, req: Request): { protocol: string; apiHost: string } {
  const base = deps.config.publicUrl !== undefined ? new URL(deps.config.publicUrl) : requestOrigin(req);
  // Such a request can never succeed: 400, not the 503 of an unexpected error.
  if (!base) throw new InvalidRequestError('Host header is not a host name (or set PUBLIC_URL)');
  return { protocol: base.protocol.slice(0, -1), apiHost: `${base.host}${base.pathname.replace(/\/+$/, '')}/v1` };
}

/**
 * The settings analytics-next reads at load: the `Segment.io` integration aimed at this gateway
 * (it posts to `{protocol}://{apiHost}/t`, `/b`, …), client metrics off, nothing remote to load.
 */
export function segmentSettings(writeKey: string, address: { protocol: string; apiHost: string }): unknown {
  return {
    integrations: {
      'Segment.io': {
        apiKey: writeKey,
        apiHost: address.apiHost,
        protocol: address.protocol,
        unbundledIntegrations: [],
        addBundledMetadata: true,
        maybeBundledConfigIds: {},
      },
    },
    plan: { track: { __default: { enabled: true, integrations: {} } }, identify: { __default: { enabled: true } }, group: { __default: { enabled: true } } },
    edgeFunction: {},
    analyticsNextEnabled: true,
    middlewareSettings: {},
    enabledMiddleware: {},
    metrics: { sampleRate: 0, host: address.apiHost, protocol: address.protocol },
    legacyVideoPluginsEnabled: false,
    remotePlugins: [],
  };
}
