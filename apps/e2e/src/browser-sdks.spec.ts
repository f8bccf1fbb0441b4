import { randomUUID } from 'node:crypto';
import { AppProcess, createSource, createTestEnv, freePort, waitForHealthy, withProcessOutput, type TestEnv } from '@evt/testing';
import type { Browser } from 'playwright-core';
import { launchChromium } from './support/browser/chromium';
import { BROWSER_SDKS, deliveriesOf, pagePath, scriptPath, sdkPage, type BrowserSdk, type Delivery, type PageGlobal } from './support/browser/sdks';
import { startSite, type Site } from './support/browser/site';
import { browserEvents } from './support/browser/stored';
import { recordTraffic, type Exchange } from './support/browser/traffic';
import { waitForStored } from './support/stored-events';

// The three browser SDKs, unchanged, in a real headless Chromium: a page on a site of its own loads
// each from its npm dist file, given nothing but the gateway's URL and a write key; the SDK fetches
// its settings from the gateway and sends its events there, and the built gateway and events
// worker store them in Postgres.
jest.setTimeout(120_000);

const READY_TIMEOUT_MS = 15_000;
const STORE_TIMEOUT_MS = 10_000;

type Source = Awaited<ReturnType<typeof createSource>>;

let env: TestEnv;
let gatewayUrl: string;
let gateway: AppProcess | undefined;
let worker: AppProcess | undefined;
let site: Site;
let browser: Browser;
/** A source per page (SDK × delivery), so each test's rows are exactly its own. */
const sources = new Map<string, Source>();

const running = () => [gateway, worker].filter((p): p is AppProcess => p !== undefined);

beforeAll(async () => {
  env = await createTestEnv('e2e-browser');
  // Sources exist before the gateway starts, so its first source-config load already knows them.
  for (const sdk of BROWSER_SDKS) {
    for (const delivery of deliveriesOf(sdk)) sources.set(pagePath(sdk, delivery), await createSource(env));
  }

  const port = await freePort();
  gatewayUrl = `http://127.0.0.1:${port}`;
  const vars = env.processEnv({ PORT: String(port), LOG_LEVEL: 'info' });
  worker = AppProcess.start('events-worker', 'dist/apps/events-worker/main.js', vars);
  gateway = AppProcess.start('gateway', 'dist/apps/gateway/main.js', vars);

  // The pages are on localhost, the gateway on 127.0.0.1: another site, as in production, so
  // every SDK request is a cross-origin one (CORS, preflights, beacons to a third party).
  const scripts = Object.fromEntries(BROWSER_SDKS.flatMap((sdk) => (sdk.dist ? [[scriptPath(sdk), sdk.dist]] : [])));
  site = await startSite('localhost', scripts, (url) => {
    if (url.pathname === '/elsewhere') return '<!doctype html><title>elsewhere</title><p>A page without an SDK.</p>';
    for (const sdk of BROWSER_SDKS) {
      for (const delivery of deliveriesOf(sdk)) {
        const source = sources.get(pagePath(sdk, delivery));
        if (url.pathname === pagePath(sdk, delivery) && source) return sdkPage(sdk, delivery, gatewayUrl, source.writeKey);
      }
    }
    return undefined;
  });
  browser = await launchChromium();

  await waitForHealthy(`${gatewayUrl}/health`, gateway, 30_000);
  await worker.waitForOutput(/events worker started/, 30_000);
});

afterAll(async () => {
  await browser?.close();
  await site?.close();
  const stopped = await Promise.all(running().map(async (app) => ({ app, status: await app.stop() })));
  for (const { app, status } of stopped) {
    if (status.code !== 0) console.warn(`e2e: ${app.name} did not exit cleanly on SIGTERM\n${app.report()}`);
  }
  await env?.close();
});

describe.each(BROWSER_SDKS)('$name in Chromium → gateway → events worker → Postgres', (sdk) => {
  it.each(deliveriesOf(sdk))(
    '%s delivery: an anonymous, then identified visitor’s events, the last one sent as the page is left, each stored once',
    (delivery) => withProcessOutput(running, () => visit(sdk, delivery))(),
  );
});

/** One visitor on the SDK's page: anonymous events, identify, more events, one more as they leave. */
async function visit(sdk: BrowserSdk, delivery: Delivery): Promise<void> {
  const path = pagePath(sdk, delivery);
  const source = sources.get(path);
  if (!source) throw new Error(`no source for ${path}`);
  const userId = `visitor-${randomUUID()}`;
  const email = `${userId}@example.com`;
  const context = await browser.newContext();
  const exchanges = recordTraffic(context, site.origin);
  const pageErrors: string[] = [];
  try {
    const page = await context.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(`${site.origin}${path}`);
    await page.evaluate(
      (ms) =>
        Promise.race([
          (globalThis as unknown as PageGlobal).evt.ready,
          new Promise((_, reject) => setTimeout(() => reject(new Error(`the SDK was not ready after ${ms} ms`)), ms)),
        ]),
      READY_TIMEOUT_MS,
    );
    const anonymousId = await page.evaluate(() => (globalThis as unknown as PageGlobal).evt.anonymousId());
    const userAgent = await page.evaluate(() => (globalThis as unknown as { navigator: { userAgent: string } }).navigator.userAgent);
    expect(anonymousId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);

    await page.evaluate(() => {
      const { evt } = globalThis as unknown as PageGlobal;
      evt.page('Pricing', { section: 'plans' });
      evt.track('Plan Viewed', { plan: 'pro' });
    });
    // Stored before identify is called: analytics-next adds the user id as it sends an event, not
    // as it is tracked, so anonymous events still queued would leave with the id.
    await waitForStored(env, source.id, 2, STORE_TIMEOUT_MS);

    await page.evaluate(
      ({ userId, email }) => {
        const { evt } = globalThis as unknown as PageGlobal;
        evt.identify(userId, { email });
        evt.track('Plan Chosen', { plan: 'pro' });
      },
      { userId, email },
    );
    await waitForStored(env, source.id, 4, STORE_TIMEOUT_MS);

    // A link click: tracked, and the page left at once for one without the SDK, so nothing can send
    // the event later. It leaves with this page: sent at once (standard), or flushed by the SDK as
    // the page hides (batching: XHR or fetch keepalive; beacon: sendBeacon).
    await page.evaluate(() => {
      const { evt, location } = globalThis as unknown as PageGlobal & { location: { assign(url: string): void } };
      evt.track('Checkout Clicked', { plan: 'pro' });
      location.assign('/elsewhere');
    });
    await page.waitForURL(`${site.origin}/elsewhere`);
    await waitForStored(env, source.id, 5, STORE_TIMEOUT_MS);

    const seen = { anonymousId, library: sdk.libraryName, pagePath: path, userAgent };
    expect(await browserEvents(env, source.id)).toMatchObject([
      { type: 'identify', label: null, userId, ...seen, traits: { email } },
      { type: 'page', label: 'Pricing', userId: null, ...seen, properties: { section: 'plans' } },
      { type: 'track', label: 'Checkout Clicked', userId, ...seen, properties: { plan: 'pro' } },
      { type: 'track', label: 'Plan Chosen', userId, ...seen, properties: { plan: 'pro' } },
      { type: 'track', label: 'Plan Viewed', userId: null, ...seen, properties: { plan: 'pro' } },
    ]);

    // Only the gateway was called, and it refused nothing: a 4xx makes an SDK drop the events.
    // ERR_ABORTED is a request whose answer the page left before reading (its events are checked above).
    const refused = exchanges.filter(
      (e) => !e.url.startsWith(`${gatewayUrl}/`) || (e.status ?? 0) >= 400 || (e.failure !== undefined && e.failure !== 'net::ERR_ABORTED'),
    );
    expect(refused).toEqual([]);
    // The settings came from the gateway before any event was sent.
    const settings = exchanges.findIndex((e) => sdk.settingsPath.test(new URL(e.url).pathname));
    expect(exchanges[settings]).toMatchObject({ method: 'GET', status: 200 });
    expect(settings).toBeLessThan(exchanges.findIndex((e) => e.method === 'POST'));
    // The delivery took effect: events went where this mode sends them.
    const posted = new Set(exchanges.filter((e) => e.method === 'POST').map((e) => new URL(e.url).pathname));
    expect([...posted].sort()).toEqual([...(sdk.deliveries[delivery]?.paths ?? [])].sort());
    expect(pageErrors).toEqual([]);
  } catch (error) {
    if (error instanceof Error)
      error.message += `\n\nThe browser's requests outside the site:\n${exchanges.map(formatExchange).join('\n') || '(none)'}\nPage errors: ${pageErrors.join('; ') || '(none)'}`;
    throw error;
  } finally {
    await context.close();
  }
}

function formatExchange(exchange: Exchange): string {
  return `  ${exchange.method} ${exchange.url} → ${exchange.status ?? exchange.failure ?? 'no answer yet'}`;
}
