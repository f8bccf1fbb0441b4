import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createLogger } from '@evt/logging';
import { basicAuth, createSource, createTestEnv, type TestEnv } from '@evt/testing';
import { startGateway, type RunningGateway } from './gateway';
import { send } from './test-support/harness';

// What the browser SDKs fetch before they send: RudderStack's source configuration and Segment's
// settings, answered by the gateway so that only its URL changes in a page's snippet.
let env: TestEnv;
const gateways: RunningGateway[] = [];

async function gateway(overrides: Record<string, string> = {}): Promise<{ url: string; port: number }> {
  const running = await startGateway(env.config({ PORT: '0', HOST: '127.0.0.1', ...overrides }), createLogger('sdk-settings-test', 'silent'), '0.0.0-test');
  gateways.push(running);
  return { url: `http://127.0.0.1:${running.port}`, port: running.port };
}

type Source = Awaited<ReturnType<typeof createSource>>;
let enabled: Source;
let disabled: Source;
let plain: { url: string; port: number };

beforeAll(async () => {
  env = await createTestEnv('sdk-settings');
  enabled = await createSource(env);
  disabled = await createSource(env, { enabled: false });
  plain = await gateway();
});

afterAll(async () => {
  await Promise.all(gateways.map((running) => running.stop()));
  await env?.close();
});

describe('GET /sourceConfig (RudderStack analytics-js v3 and v1.1)', () => {
  const expected = (source: Source, isEnabled: boolean) => ({
    isHosted: false,
    source: { id: source.id, name: source.name, writeKey: source.writeKey, workspaceId: source.workspaceId, enabled: isEnabled, config: {}, destinations: [] },
  });

  it('answers the source of the writeKey query parameter, ignoring the SDK’s other parameters', async () => {
    const answer = await send(plain.url, { path: `/sourceConfig/?p=npm&v=3.34.1&build=modern&writeKey=${enabled.writeKey}&lockIntegrationsVersion=false` });
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(answer.headers.get('cache-control')).toBe('no-store');
    expect(answer.headers.get('access-control-allow-origin')).toBe('*');
    expect(JSON.parse(answer.body)).toStrictEqual(expected(enabled, true));
  });

  it('takes the write key from Basic auth, with or without the trailing slash', async () => {
    for (const path of ['/sourceConfig', '/sourceConfig/?v=1.1']) {
      const answer = await send(plain.url, { path, headers: { Authorization: basicAuth(enabled.writeKey) } });
      expect({ path, status: answer.status, body: JSON.parse(answer.body) as unknown }).toStrictEqual({ path, status: 200, body: expected(enabled, true) });
    }
  });

  it('says a disabled source is disabled, so the SDK sends nothing', async () => {
    const answer = await send(plain.url, { path: `/sourceConfig/?writeKey=${disabled.writeKey}` });
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toStrictEqual(expected(disabled, false));
  });

  it('answers 401 to an unknown or missing write key', async () => {
    expect(await send(plain.url, { path: '/sourceConfig/?writeKey=no-such-key' })).toMatchObject({ status: 401, body: 'Invalid write key' });
    expect(await send(plain.url, { path: '/sourceConfig/?p=npm' })).toMatchObject({ status: 401, body: 'Invalid Authorization Header' });
  });

  it('passes the preflight of a cross-origin request with Basic auth', async () => {
    const answer = await send(plain.url, {
      path: '/sourceConfig/?writeKey=x',
      method: 'OPTIONS',
      headers: { Origin: 'http://shop.example', 'Access-Control-Request-Method': 'GET', 'Access-Control-Request-Headers': 'authorization' },
    });
    expect(answer.status).toBe(204);
    expect(answer.headers.get('access-control-allow-origin')).toBe('*');
    expect(answer.headers.get('access-control-allow-methods')).toBe('GET, POST, OPTIONS');
    expect(answer.headers.get('access-control-allow-headers')).toContain('Authorization');
  });

  it('takes the SDK’s own metrics on POST /rsaMetrics and answers 200', async () => {
    const body = JSON.stringify({ version: '1', source: { name: 'RudderStackJavaScriptSDK' }, metrics: [] });
    expect(await send(plain.url, { path: '/rsaMetrics', method: 'POST', body, headers: { 'Content-Type': 'application/json' } })).toMatchObject({
      status: 200,
      body: 'OK',
    });
  });
});

describe('GET /v1/projects/:writeKey/settings (Segment analytics-next)', () => {
  const settingsOf = async (url: string, writeKey: string, headers: Record<string, string> = {}) => {
    const answer = await send(url, { path: `/v1/projects/${writeKey}/settings`, headers });
    expect(answer.status).toBe(200);
    return JSON.parse(answer.body) as { integrations: Record<string, Record<string, unknown>>; metrics: Record<string, unknown>; remotePlugins: unknown[] };
  };

  it('points the Segment.io integration at the address the page reached the gateway by, with metrics and remote plugins off', async () => {
    const settings = await settingsOf(plain.url, enabled.writeKey);
    expect(settings.integrations).toStrictEqual({
      'Segment.io': {
        apiKey: enabled.writeKey,
        apiHost: `127.0.0.1:${plain.port}/v1`,
        protocol: 'http',
        unbundledIntegrations: [],
        addBundledMetadata: true,
        maybeBundledConfigIds: {},
      },
    });
    expect(settings.metrics).toStrictEqual({ sampleRate: 0, host: `127.0.0.1:${plain.port}/v1`, protocol: 'http' });
    expect(settings.remotePlugins).toStrictEqual([]);
  });

  it('ignores X-Forwarded-* from a proxy it does not trust', async () => {
    const settings = await settingsOf(plain.url, enabled.writeKey, { 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'evil.example' });
    expect(settings.integrations['Segment.io']).toMatchObject({ apiHost: `127.0.0.1:${plain.port}/v1`, protocol: 'http' });
  });

  it('follows X-Forwarded-Proto and X-Forwarded-Host under TRUST_PROXY', async () => {
    const proxied = await gateway({ TRUST_PROXY: 'loopback' });
    const settings = await settingsOf(proxied.url, enabled.writeKey, { 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'events.example.com' });
    expect(settings.integrations['Segment.io']).toMatchObject({ apiHost: 'events.example.com/v1', protocol: 'https' });
  });

  it('uses PUBLIC_URL, path prefix included, whatever the request says', async () => {
    const published = await gateway({ PUBLIC_URL: 'https://data.example.com:8443/collect/', TRUST_PROXY: 'loopback' });
    const settings = await settingsOf(published.url, enabled.writeKey, { 'X-Forwarded-Host': 'other.example' });
    expect(settings.integrations['Segment.io']).toMatchObject({ apiHost: 'data.example.com:8443/collect/v1', protocol: 'https' });
    expect(settings.metrics).toMatchObject({ host: 'data.example.com:8443/collect/v1', protocol: 'https' });
  });

  it('answers 400 when the Host it would point the SDK at is no host name', async () => {
    const proxied = await gateway({ TRUST_PROXY: 'loopback' });
    for (const forwarded of ['evil.example/path', 'a b', '']) {
      const answer = await send(proxied.url, { path: `/v1/projects/${enabled.writeKey}/settings`, headers: { 'X-Forwarded-Host': forwarded } });
      if (forwarded === '') expect(answer.status).toBe(200);
      else
        expect({ forwarded, status: answer.status, body: answer.body }).toStrictEqual({
          forwarded,
          status: 400,
          body: 'Invalid request: Host header is not a host name (or set PUBLIC_URL)',
        });
    }
  });

  it('answers 404 for a disabled source (analytics-next then sends nothing) and 401 for an unknown key', async () => {
    expect(await send(plain.url, { path: `/v1/projects/${disabled.writeKey}/settings` })).toMatchObject({ status: 404, body: 'Source is disabled' });
    expect(await send(plain.url, { path: '/v1/projects/no-such-key/settings' })).toMatchObject({ status: 401, body: 'Invalid write key' });
  });

  it('takes Segment’s client metrics on POST /v1/m and answers 200', async () => {
    const body = JSON.stringify({ series: [{ type: 'Counter', metric: 'analytics_js.invoke.track', value: 1, tags: {} }] });
    const answer = await send(plain.url, { path: '/v1/m', method: 'POST', body, headers: { 'Content-Type': 'text/plain' } });
    expect(answer).toMatchObject({ status: 200, body: 'OK' });
    expect(answer.headers.get('access-control-allow-origin')).toBe('*');
  });
});

describe('Segment’s snippet script, served by the gateway', () => {
  const bundles = path.join(path.dirname(require.resolve('@segment/analytics-next/package.json')), 'dist', 'umd');

  it('serves analytics.min.js for any write key: the npm package’s standalone build', async () => {
    const answer = await send(plain.url, { path: `/analytics.js/v1/${enabled.writeKey}/analytics.min.js` });
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(answer.body).toBe(readFileSync(path.join(bundles, 'standalone.js'), 'utf8'));
  });

  it('serves the chunks that script loads, and nothing outside their folder', async () => {
    const chunk = readdirSync(bundles).find((name) => /^queryString\.bundle\.\w+\.js$/.test(name)) as string;
    const answer = await send(plain.url, { path: `/analytics-next/bundles/${chunk}` });
    expect(answer.status).toBe(200);
    expect(answer.body).toBe(readFileSync(path.join(bundles, chunk), 'utf8'));
    expect(await send(plain.url, { path: '/analytics-next/bundles/..%2F..%2Fpackage.json' })).toMatchObject({ status: 404, body: 'Not found' });
    expect(await send(plain.url, { path: '/analytics-next/bundles/no-such.js' })).toMatchObject({ status: 404, body: 'Not found' });
  });
});
