/** How the SDK delivers events: one request per event, batches, or `navigator.sendBeacon`. */
export type Delivery = 'standard' | 'batching' | 'beacon';

/** A delivery mode as an SDK is set up for it, and the gateway paths its events then go to. */
export interface DeliverySetup {
  /** Load options next to the gateway's URL and the write key. */
  options: Record<string, unknown>;
  /** Paths (query left out) the SDK posts events to in this mode. */
  paths: string[];
}

/** One browser SDK as a page loads it: its npm dist file, and how each of its delivery modes is set up. */
export interface BrowserSdk {
  /** The npm package. */
  name: string;
  /** The dist file the page loads from its own site (under the workspace root); none when the page's snippet loads the SDK from the gateway. */
  dist?: string;
  /** `context.library.name` of its events. */
  libraryName: string;
  /** The path of the settings request it makes to the gateway before sending anything. */
  settingsPath: RegExp;
  /** The delivery modes the SDK has. */
  deliveries: Partial<Record<Delivery, DeliverySetup>>;
  /**
   * The page's script: loads the SDK with `WRITE_KEY`, `GATEWAY` and `OPTIONS` (the delivery's
   * load options) and exposes it to the test as `window.evt` (a `PageSdk`).
   */
  boot: string;
}

/** What the test calls in the page, the same for every SDK. */
export interface PageSdk {
  /** Resolves once the SDK has its settings from the gateway and sends events. */
  ready: Promise<void>;
  anonymousId(): string;
  page(name: string, properties: Record<string, unknown>): void;
  track(event: string, properties: Record<string, unknown>): void;
  identify(userId: string, traits: Record<string, unknown>): void;
}

/** The page's global object as seen from `page.evaluate`. */
export interface PageGlobal {
  evt: PageSdk;
}

const RUDDER_EVENT_PATHS = ['/v1/page', '/v1/track', '/v1/identify'];

// RudderStack's two SDKs take the same calls; only how they are loaded differs.
const rudderCalls = `
  anonymousId: () => analytics.getAnonymousId(),
  page: (name, properties) => analytics.page(name, properties),
  track: (event, properties) => analytics.track(event, properties),
  identify: (userId, traits) => analytics.identify(userId, traits),
`;

export const RUDDER_V3: BrowserSdk = {
  name: '@rudderstack/analytics-js',
  // The default builds load their plugins (the XHR and beacon queues among them) from RudderStack's
  // CDN at run time; the bundled build carries them, so the page needs nothing but the gateway.
  dist: 'node_modules/@rudderstack/analytics-js/dist/npm/modern/bundled/umd/index.js',
  libraryName: 'RudderLabs JavaScript SDK',
  settingsPath: /^\/sourceConfig\/$/,
  deliveries: {
    standard: { options: {}, paths: RUDDER_EVENT_PATHS },
    batching: { options: { queueOptions: { batch: { enabled: true, maxItems: 100, flushInterval: 1000 } } }, paths: ['/v1/batch'] },
    beacon: { options: { useBeacon: true, beaconQueueOptions: { flushQueueInterval: 1000 } }, paths: ['/beacon/v1/batch'] },
  },
  boot: `
    const analytics = new rudderanalytics.RudderAnalytics();
    analytics.load(WRITE_KEY, GATEWAY, { configUrl: GATEWAY, ...OPTIONS });
    window.evt = { ready: new Promise((resolve) => analytics.ready(() => resolve())), ${rudderCalls} };
  `,
};

export const RUDDER_V1_1: BrowserSdk = {
  name: 'rudder-sdk-js',
  dist: 'node_modules/rudder-sdk-js/dist/npm/index.js',
  libraryName: 'RudderLabs JavaScript SDK',
  settingsPath: /^\/sourceConfig\/$/,
  // v1.1 has no batching: its XHR queue sends one event per request.
  deliveries: {
    standard: { options: {}, paths: RUDDER_EVENT_PATHS },
    beacon: { options: { useBeacon: true, beaconQueueOptions: { flushQueueInterval: 1000 } }, paths: ['/beacon/v1/batch'] },
  },
  boot: `
    const analytics = rudderanalytics;
    analytics.load(WRITE_KEY, GATEWAY, { configUrl: GATEWAY, ...OPTIONS });
    window.evt = { ready: new Promise((resolve) => analytics.ready(() => resolve())), ${rudderCalls} };
  `,
};

export const SEGMENT: BrowserSdk = {
  name: '@segment/analytics-next',
  dist: 'node_modules/@segment/analytics-next/dist/umd/index.js',
  libraryName: 'analytics.js',
  settingsPath: /^\/v1\/projects\/[^/]+\/settings$/,
  // analytics-next has no sendBeacon delivery.
  deliveries: {
    standard: { options: {}, paths: ['/v1/p', '/v1/t', '/v1/i'] },
    batching: {
      options: { integrations: { 'Segment.io': { deliveryStrategy: { strategy: 'batching', config: { size: 10, timeout: 1000 } } } } },
      paths: ['/v1/b'],
    },
  },
  boot: `
    let analytics;
    const loaded = AnalyticsNext.AnalyticsBrowser.load({ writeKey: WRITE_KEY, cdnURL: GATEWAY }, OPTIONS);
    window.evt = {
      ready: loaded.then(([instance]) => { analytics = instance; }),
      anonymousId: () => analytics.user().anonymousId(),
      page: (name, properties) => { analytics.page(name, properties); },
      track: (event, properties) => { analytics.track(event, properties); },
      identify: (userId, traits) => { analytics.identify(userId, traits); },
    };
  `,
};

/**
 * Segment's own snippet (5.2.0), with its one URL pointed at the gateway: the gateway serves
 * analytics-next's standalone build and its chunks from the npm package. `_cdn` tells the script
 * where its settings and chunks are (it reads them from an https script URL on its own, but the
 * test's gateway speaks http).
 */
export const SEGMENT_SNIPPET: BrowserSdk = {
  name: '@segment/analytics-next snippet',
  libraryName: 'analytics.js',
  settingsPath: /^\/v1\/projects\/[^/]+\/settings$/,
  deliveries: { standard: { options: {}, paths: ['/v1/p', '/v1/t', '/v1/i'] } },
  boot: `
    !function(){var i="analytics",analytics=window[i]=window[i]||[];if(!analytics.initialize)if(analytics.invoked)window.console&&console.error&&console.error("Segment snippet included twice.");else{analytics.invoked=!0;analytics.methods=["trackSubmit","trackClick","trackLink","trackForm","pageview","identify","reset","group","track","ready","alias","debug","page","screen","once","off","on","addSourceMiddleware","addIntegrationMiddleware","setAnonymousId","addDestinationMiddleware","register"];analytics.factory=function(e){return function(){if(window[i].initialized)return window[i][e].apply(window[i],arguments);var n=Array.prototype.slice.call(arguments);if(["track","screen","alias","group","page","identify"].indexOf(e)>-1){var c=document.querySelector("link[rel='canonical']");n.push({__t:"bpc",c:c&&c.getAttribute("href")||void 0,p:location.pathname,u:location.href,s:location.search,t:document.title,r:document.referrer})}n.unshift(e);analytics.push(n);return analytics}};for(var n=0;n<analytics.methods.length;n++){var key=analytics.methods[n];analytics[key]=analytics.factory(key)}analytics.load=function(key,n){var t=document.createElement("script");t.type="text/javascript";t.async=!0;t.setAttribute("data-global-segment-analytics-key",i);t.src=GATEWAY+"/analytics.js/v1/" + key + "/analytics.min.js";var r=document.getElementsByTagName("script")[0];r.parentNode.insertBefore(t,r);analytics._loadOptions=n};analytics._writeKey=WRITE_KEY;analytics._cdn=GATEWAY;analytics.SNIPPET_VERSION="5.2.0";
    analytics.load(WRITE_KEY);
    }}();
    window.evt = {
      ready: new Promise((resolve) => window.analytics.ready(() => resolve())),
      anonymousId: () => window.analytics.user().anonymousId(),
      page: (name, properties) => { window.analytics.page(name, properties); },
      track: (event, properties) => { window.analytics.track(event, properties); },
      identify: (userId, traits) => { window.analytics.identify(userId, traits); },
    };
  `,
};

export const BROWSER_SDKS = [RUDDER_V3, RUDDER_V1_1, SEGMENT, SEGMENT_SNIPPET];

/** The deliveries `sdk` has. */
export function deliveriesOf(sdk: BrowserSdk): Delivery[] {
  return Object.keys(sdk.deliveries) as Delivery[];
}

const slug = (sdk: BrowserSdk) => sdk.name.replace(/^@/, '').replace(/[^a-z0-9.-]+/gi, '-');

/** The URL path the site serves an SDK's dist file at. */
export function scriptPath(sdk: BrowserSdk): string {
  return `/sdk/${slug(sdk)}.js`;
}

/** The URL path of the site's page that loads `sdk` set up for `delivery`. */
export function pagePath(sdk: BrowserSdk, delivery: Delivery): string {
  return `/${slug(sdk)}/${delivery}`;
}

/** A page that loads `sdk` for `writeKey` from `gateway` with the delivery's options. */
export function sdkPage(sdk: BrowserSdk, delivery: Delivery, gateway: string, writeKey: string): string {
  const setup = sdk.deliveries[delivery];
  if (!setup) throw new Error(`${sdk.name} has no ${delivery} delivery`);
  // JSON in a <script>: "<" escaped so no value can close the element.
  const literal = (value: unknown) => JSON.stringify(value).replace(/</g, '\\u003c');
  return `<!doctype html>
<html>
  <head>
    <meta charset="utf-8">
    <title>${sdk.name} ${delivery}</title>
    ${sdk.dist ? `<script src="${scriptPath(sdk)}"></script>` : ''}
    <script>
      const WRITE_KEY = ${literal(writeKey)};
      const GATEWAY = ${literal(gateway)};
      const OPTIONS = ${literal(setup.options)};
      ${sdk.boot}
    </script>
  </head>
  <body></body>
</html>
`;
}
