import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import http from 'node:http';
import RudderAnalytics from '@rudderstack/rudder-sdk-node';
import { Analytics, FetchHTTPClient, type HTTPClientRequest } from '@segment/analytics-node';

export interface DriveResult {
  /** Every id (messageId, or recordId for rETL) whose request the gateway answered 200. */
  acknowledged: string[];
  /**
   * Answers other than 200, by status; and requests with no answer: `refused` (the connection
   * was refused or reset while connecting: the request was never sent) or `dropped` (the
   * connection was reset or timed out after the request was sent, with no answer; this includes
   * connections the kernel had completed but the gateway never accepted, which the kernel resets
   * when a stopping gateway closes its listening socket).
   */
  refusals: Record<string, number>;
  /** Batches (for the SDK: events) the client gave up on: a loss on the client's side, not ours. */
  abandoned: number;
}

/** Where a workload's ids land: the table and the column that holds them, per source. */
export type StoredIn = 'events' | 'retl_records';

/** What a stack offers a workload: where to send, and as whom. */
export interface Target {
  writeKey: string;
  sourceId: string;
  workspaceId: string;
  destinationId: string;
}

/** How a request that got no answer failed: see DriveResult.refusals. */
export function noAnswer(error: unknown): 'refused' | 'dropped' {
  const failure = error as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
  const cause = failure.code ? failure : (failure.cause ?? failure);
  return cause.code === 'ECONNREFUSED' || cause.syscall === 'connect' ? 'refused' : 'dropped';
}

/** One kind of request the harness sends, carrying one event (or record) per id. */
export interface Workload {
  name: string;
  storedIn: StoredIn;
  request(ids: string[], target: Target): { path: string; headers: Record<string, string>; body: string };
}

const basic = (user: string) => `Basic ${Buffer.from(`${user}:`).toString('base64')}`;

export const WORKLOADS: Record<'batch' | 'internal-batch' | 'retl', Workload> = {
  /** `/v1/batch` with the write key, as the server SDKs send. */
  batch: {
    name: 'batch',
    storedIn: 'events',
    request: (ids, target) => ({
      path: '/v1/batch',
      headers: { authorization: basic(target.writeKey) },
      body: JSON.stringify({
        batch: ids.map((messageId) => ({ type: 'track', event: 'Fault Test', userId: 'u-fault', messageId, properties: { n: 1 } })),
        sentAt: new Date().toISOString(),
      }),
    }),
  },
  /** `/internal/v1/batch`: events enriched upstream, consumed by the internal worker. */
  'internal-batch': {
    name: 'internal-batch',
    storedIn: 'events',
    request: (ids, target) => ({
      path: '/internal/v1/batch',
      headers: { authorization: basic(target.sourceId) },
      body: JSON.stringify(
        ids.map((messageId) => ({
          properties: { sourceID: target.sourceId, workspaceID: target.workspaceId },
          payload: {
            type: 'track',
            event: 'Fault Test',
            userId: 'u-fault',
            messageId,
            receivedAt: new Date().toISOString(),
            request_ip: '203.0.113.9',
            rudderId: 'f5f0a6a2-1c38-4b83-9d0c-2b2c4a1f9e11',
          },
        })),
      ),
    }),
  },
  /** `/internal/v1/retl`: record inserts, consumed in order by the internal worker. */
  retl: {
    name: 'retl',
    storedIn: 'retl_records',
    request: (ids, target) => ({
      path: '/internal/v1/retl',
      headers: { authorization: basic(target.sourceId), 'x-rudder-destination-id': target.destinationId },
      body: JSON.stringify({ batch: ids.map((recordId) => ({ type: 'record', recordId, action: 'insert', fields: { n: 1 } })) }),
    }),
  },
};

/**
 * Sends `workload` requests with unique ids as an SDK does: a request answered 5xx or 429, or
 * not answered at all, is sent again (same ids) until it gets 200; other 4xx are not retried.
 */
export async function drive(options: {
  url: () => string;
  target: Target;
  workload: Workload;
  connections: number;
  seconds: number;
  batchSize: number;
  giveUpSeconds?: number;
}): Promise<DriveResult> {
  const acknowledged: string[] = [];
  const refusals: Record<string, number> = {};
  let abandoned = 0;
  const deadline = Date.now() + options.seconds * 1000;

  const post = (request: { path: string; headers: Record<string, string>; body: string }) =>
    new Promise<number | 'refused' | 'dropped'>((resolve) => {
      const headers = { ...request.headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(request.body)) };
      const sent = http.request(`${options.url()}${request.path}`, { method: 'POST', agent: false, headers, timeout: 5000 }, (response) => {
        response.resume();
        response.on('end', () => resolve(response.statusCode ?? 0));
      });
      sent.on('timeout', () => sent.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
      sent.on('error', (error) => resolve(noAnswer(error)));
      sent.end(request.body);
    });

  const loop = async () => {
    while (Date.now() < deadline) {
      const ids = Array.from({ length: options.batchSize }, () => randomUUID());
      const request = options.workload.request(ids, options.target);
      const giveUp = Date.now() + (options.giveUpSeconds ?? 60) * 1000;
      for (;;) {
        const status = await post(request);
        if (status === 200) {
          for (const id of ids) acknowledged.push(id);
          break;
        }
        refusals[status] = (refusals[status] ?? 0) + 1;
        if ((typeof status === 'number' && status >= 400 && status < 500 && status !== 429) || Date.now() > giveUp) {
          abandoned++;
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  };
  await Promise.all(Array.from({ length: options.connections }, loop));
  return { acknowledged, refusals, abandoned };
}

/**
 * Starts `count` batch requests and sends only their headers and the first half of their
 * bodies: requests truly in flight, the gateway reading them. `finish` sends the rest and
 * resolves with each one's answer (or `dropped`).
 */
export async function holdRequests(
  url: string,
  target: Target,
  count: number,
  batchSize: number,
): Promise<{ finish(): Promise<Array<{ ids: string[]; answer: number | 'dropped' }>> }> {
  const held = Array.from({ length: count }, () => {
    const ids = Array.from({ length: batchSize }, () => randomUUID());
    const request = WORKLOADS.batch.request(ids, target);
    const body = Buffer.from(request.body);
    let answered!: (answer: number | 'dropped') => void;
    const answer = new Promise<number | 'dropped'>((resolve) => (answered = resolve));
    const sent = http.request(
      `${url}${request.path}`,
      { method: 'POST', agent: false, headers: { ...request.headers, 'content-type': 'application/json', 'content-length': String(body.length) } },
      (response) => {
        response.resume();
        response.on('end', () => answered(response.statusCode ?? 0));
      },
    );
    sent.on('error', () => answered('dropped'));
    sent.write(body.subarray(0, body.length >> 1));
    return { ids, body, sent, answer };
  });
  // Long enough for the gateway to have read every head and started on every body.
  await new Promise((resolve) => setTimeout(resolve, 200));
  return {
    async finish() {
      for (const { body, sent } of held) sent.end(body.subarray(body.length >> 1));
      return Promise.all(held.map(async ({ ids, answer }) => ({ ids, answer: await answer })));
    },
  };
}

/**
 * Calls `track` with a new messageId `eventsPerSecond` times a second for `seconds`; each call's
 * callback reports the event delivered (no error) or given up on. Resolves when the last is sent,
 * before the callbacks have all come: `acknowledged` and `failed` keep counting until the SDK is flushed.
 */
async function trackPaced(
  options: { seconds: number; eventsPerSecond: number },
  track: (messageId: string, done: (error?: unknown) => void) => void,
): Promise<{ acknowledged: string[]; failed(): number }> {
  const acknowledged: string[] = [];
  let failed = 0;
  const tickMs = 50;
  const perTick = Math.max(1, Math.round((options.eventsPerSecond * tickMs) / 1000));
  const deadline = Date.now() + options.seconds * 1000;
  while (Date.now() < deadline) {
    for (let i = 0; i < perTick; i++) {
      const messageId = randomUUID();
      track(messageId, (error) => {
        if (error) failed++;
        else acknowledged.push(messageId);
      });
    }
    await new Promise((resolve) => setTimeout(resolve, tickMs));
  }
  return { acknowledged, failed: () => failed };
}

/**
 * Drives the gateway with the real `@segment/analytics-node` SDK at `eventsPerSecond`, with its
 * own batching and retries (raised so that a 60 s outage is ridden out, as users configure it
 * for that). An event counts as acknowledged when the SDK's callback reports it delivered,
 * which it does only once its batch got a 2xx.
 */
export async function driveSdk(options: { url: string; writeKey: string; seconds: number; eventsPerSecond: number }): Promise<DriveResult> {
  const refusals: Record<string, number> = {};
  // The SDK's own fetch client, counting the requests that got no answer (it retries those too).
  const httpClient = new (class extends FetchHTTPClient {
    override async makeRequest(request: HTTPClientRequest) {
      try {
        return await super.makeRequest(request);
      } catch (error) {
        const kind = noAnswer(error);
        refusals[kind] = (refusals[kind] ?? 0) + 1;
        throw error;
      }
    }
  })();
  // The SDK puts a listener on one AbortSignal per batch it is sending or backing off; with many
  // batches retrying through an outage that passes Node's default warning threshold of 10.
  EventEmitter.defaultMaxListeners = Math.max(EventEmitter.defaultMaxListeners, 1000);
  const analytics = new Analytics({
    writeKey: options.writeKey,
    host: options.url,
    path: '/v1/batch',
    flushInterval: 200,
    maxEventsInBatch: 100,
    maxRetries: 30,
    httpRequestTimeout: 5000,
    httpClient,
  });
  analytics.on('http_response', ({ status }) => {
    if (status !== 200) refusals[status] = (refusals[status] ?? 0) + 1;
  });
  const outcome = await trackPaced(options, (messageId, done) =>
    analytics.track({ userId: 'u-sdk', event: 'Fault Test SDK', properties: { n: 1 }, messageId }, done),
  );
  // Waits for every batch to be delivered or given up on, retries included.
  await analytics.closeAndFlush({ timeout: 180_000 });
  return { acknowledged: outcome.acknowledged, refusals, abandoned: outcome.failed() };
}

/**
 * Drives the gateway with the real `@rudderstack/rudder-sdk-node` SDK at `eventsPerSecond`:
 * gzipped batches, one in flight at a time, retried by its axios-retry on network errors, 5xx
 * and 429 (`retryCount` raised to 12, about 7 minutes of backoff, each try with its own timeout). An event counts as
 * acknowledged when its callback comes without an error, which happens only after a 2xx.
 */
export async function driveRudderSdk(options: { url: string; writeKey: string; seconds: number; eventsPerSecond: number }): Promise<DriveResult> {
  const client = new RudderAnalytics(options.writeKey, {
    dataPlaneUrl: options.url,
    flushAt: 100,
    flushInterval: 200,
    retryCount: 12,
    axiosConfig: { timeout: 5000 },
    // Without it axios-retry counts the 5 s timeout across all retries and gives up once 5 s of
    // backoff have passed, whatever retryCount says: a 503 that lasts longer (a Redis failover)
    // would be given up on after four retries.
    axiosRetryConfig: { shouldResetTimeout: true },
    logLevel: 'none',
    errorHandler: () => undefined,
  });
  const refusals: Record<string, number> = {};
  // Each retry the SDK makes of a batch, counted as it goes out (axios-retry numbers them).
  const axios = (client as unknown as { axiosInstance: { interceptors: { request: { use(f: (config: Record<string, unknown>) => unknown): void } } } })
    .axiosInstance;
  axios.interceptors.request.use((config) => {
    if (((config['axios-retry'] as { retryCount?: number } | undefined)?.retryCount ?? 0) > 0) refusals.retried = (refusals.retried ?? 0) + 1;
    return config;
  });
  // messageId is honoured by the SDK but missing from its typings.
  const outcome = await trackPaced(options, (messageId, done) =>
    client.track({ userId: 'u-rudder', event: 'Fault Test Rudder SDK', properties: { n: 1 }, messageId } as RudderAnalytics.TrackParams, done),
  );
  // flush() sends at most flushAt events per call: until the queue is empty, then once more for the last batch.
  const queue = (client as unknown as { queue: unknown[] }).queue;
  while (queue.length > 0) await client.flush();
  await client.flush();
  return { acknowledged: outcome.acknowledged, refusals, abandoned: outcome.failed() };
}
